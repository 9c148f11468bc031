import type { DuplicateReason } from "../bindings/DuplicateReason";
import type { SameField } from "../bindings/SameField";

const FIELD: Record<SameField, string> = {
  name: "name",
  dateOfBirth: "date of birth",
  phone: "phone",
  email: "email",
  address: "address",
};

function list(words: string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`;
}

/** "Same name and date of birth; similar phone", from the desk's reasons. */
export function describeReasons(reasons: DuplicateReason[]): string {
  const by = (alike: DuplicateReason["alike"]) => reasons.filter((r) => r.alike === alike).map((r) => FIELD[r.field]);
  const parts: string[] = [];
  const same = by("same");
  const swapped = by("swapped");
  const similar = by("similar");
  if (same.length) parts.push(`same ${list(same)}`);
  if (swapped.length) parts.push(`${list(swapped)} swapped`);
  if (similar.length) parts.push(`similar ${list(similar)}`);
  const text = parts.join("; ");
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : "Similar details";
}
