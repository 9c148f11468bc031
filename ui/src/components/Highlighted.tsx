import type { Highlight } from "../bindings/Highlight";
import type { MatchField } from "../bindings/MatchField";

/** `text` with the parts the search matched in `<mark>`. Offsets count characters, not UTF-16 units. */
export function Highlighted({ text, field, highlights }: { text: string; field: MatchField; highlights: Highlight[] }) {
  const spans = highlights
    .filter((h) => h.field === field && h.end > h.start)
    .sort((a, b) => a.start - b.start);
  if (spans.length === 0) return <>{text}</>;
  const chars = Array.from(text);
  const parts: Array<{ text: string; marked: boolean }> = [];
  let at = 0;
  for (const span of spans) {
    const start = Math.max(span.start, at);
    const end = Math.min(span.end, chars.length);
    if (start >= end) continue;
    if (start > at) parts.push({ text: chars.slice(at, start).join(""), marked: false });
    parts.push({ text: chars.slice(start, end).join(""), marked: true });
    at = end;
  }
  if (at < chars.length) parts.push({ text: chars.slice(at).join(""), marked: false });
  return (
    <>
      {parts.map((part, i) => (part.marked ? <mark key={i}>{part.text}</mark> : <span key={i}>{part.text}</span>))}
    </>
  );
}
