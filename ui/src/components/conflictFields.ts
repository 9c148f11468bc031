// How a refused change is shown and edited on the conflicts screen: nested values flattened to
// dotted keys (`contactInfo.phone`), and the edited text fields put back in the change's shape.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Every leaf of a JSON value as `[dotted key, text]`, `_links` and arrays of objects summarised. */
export function flatten(value: unknown, prefix = ""): Array<[string, string]> {
  if (!isObject(value)) return prefix ? [[prefix, text(value)]] : [];
  const out: Array<[string, string]> = [];
  for (const [key, inner] of Object.entries(value)) {
    if (key === "_links") continue;
    const path = prefix ? `${prefix}.${key}` : key;
    if (isObject(inner)) out.push(...flatten(inner, path));
    else out.push([path, text(inner)]);
  }
  return out;
}

function text(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** The fields a person may edit as text: string and number leaves. */
export function editableFields(change: unknown): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const walk = (value: unknown, prefix: string) => {
    if (!isObject(value)) return;
    for (const [key, inner] of Object.entries(value)) {
      if (key === "_links") continue;
      const path = prefix ? `${prefix}.${key}` : key;
      if (isObject(inner)) walk(inner, path);
      else if (typeof inner === "string" || typeof inner === "number") out.push([path, String(inner)]);
    }
  };
  walk(change, "");
  return out;
}

/** The change with the edited text put back (numbers stay numbers when they still parse). */
export function fieldsToChange(change: unknown, edited: Record<string, string>): Json {
  const copy = JSON.parse(JSON.stringify(change ?? {})) as Json;
  for (const [path, value] of Object.entries(edited)) {
    const keys = path.split(".");
    let node: Json = copy;
    for (const key of keys.slice(0, -1)) {
      if (!isObject(node)) break;
      node = (node as Record<string, Json>)[key] ?? null;
    }
    const last = keys[keys.length - 1];
    if (!isObject(node) || last === undefined) continue;
    const target = node as Record<string, Json>;
    const before = target[last];
    if (typeof before === "number") {
      const parsed = Number(value);
      target[last] = value.trim() !== "" && Number.isFinite(parsed) ? parsed : value;
    } else {
      target[last] = value;
    }
  }
  return copy;
}
