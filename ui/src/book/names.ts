// Names as the book's narrow column headers show them (the full name stays in the tooltip).

/** "Dr. Grace Kim, MD" → "Kim"; "Emily Novak, NP" → "Novak". */
export function shortProviderName(name: string): string {
  const bare = (name.replace(/^Dr\.\s+/, "").split(",")[0] ?? "").trim();
  const words = bare.split(/\s+/);
  return words[words.length - 1] || name;
}
