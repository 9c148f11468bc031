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

/** Labels for the fields a person meets on the conflicts screen; others keep their key. */
const FIELD_LABEL: Record<string, string> = {
  invoiceId: "Invoice",
  amount: "Amount",
  method: "Method",
  reference: "Reference",
  date: "Date",
  firstName: "First name",
  lastName: "Last name",
  dateOfBirth: "Date of birth",
  gender: "Gender",
  phone: "Phone",
  email: "Email",
  status: "Status",
  startTime: "Start",
  endTime: "End",
  providerId: "Provider",
  patientId: "Patient",
  locationId: "Location",
  reason: "Reason",
  notes: "Notes",
};

/** Wrappers that only say what the change is about ("payment.amount" is the payment's amount). */
const WRAPPERS = new Set(["payment", "patient", "appointment", "contactInfo"]);

function words(part: string): string {
  const known = FIELD_LABEL[part];
  if (known) return known;
  const text = part.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/_/g, " ").toLowerCase();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A dotted key in words: "payment.amount" → "Amount", "address.city" → "Address · City". */
export function fieldLabel(key: string): string {
  const parts = key.split(".");
  while (parts.length > 1 && WRAPPERS.has(parts[0] ?? "")) parts.shift();
  return parts.map(words).join(" · ");
}

/** Whether a field holds money (shown with the currency and two decimals). */
export function isMoneyField(key: string): boolean {
  const last = key.split(".").pop() ?? key;
  return ["amount", "balance", "total", "copay", "price"].includes(last);
}
