// How the desk writes dates, times and money. Dates of birth and invoice dates are calendar days
// (no time zone); instants are shown in the machine's zone.

/**
 * The person's languages, then US English. Given `undefined`, Intl uses the engine's default
 * locale, which in the real window (WebKitGTK started with `LANG=C`) was ICU's root locale: money
 * read "$ 0.00". Naming the locales keeps a real one whatever the process's environment.
 */
export const LOCALES: string[] = [
  ...(typeof navigator === "undefined" ? [] : navigator.languages.filter((l) => l && l !== "C" && l !== "POSIX")),
  "en-US",
];

const DAY = new Intl.DateTimeFormat(LOCALES, { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });
const DAY_TIME = new Intl.DateTimeFormat(LOCALES, {
  weekday: "short",
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});
const MONEY = new Intl.NumberFormat(LOCALES, { style: "currency", currency: "USD", minimumFractionDigits: 2 });

/** A calendar day (`YYYY-MM-DD`) as e.g. "Mar 4, 1980". */
export function formatDate(isoDate: string): string {
  const parsed = new Date(`${isoDate}T00:00:00Z`);
  return Number.isNaN(parsed.getTime()) ? isoDate : DAY.format(parsed);
}

/** An instant as e.g. "Mon, Nov 23, 2026, 09:30". */
export function formatDateTime(instant: string): string {
  const parsed = new Date(instant);
  return Number.isNaN(parsed.getTime()) ? instant : DAY_TIME.format(parsed);
}

const MACHINE_ZONE = new Intl.DateTimeFormat().resolvedOptions().timeZone;

/**
 * An instant in a clinic's time zone (IANA name), with the zone named when it is not this
 * machine's; in the machine's zone when the clinic's is unknown.
 */
export function formatInZone(instant: string, timeZone: string | null | undefined): string {
  const parsed = new Date(instant);
  if (Number.isNaN(parsed.getTime())) return instant;
  if (!timeZone || timeZone === MACHINE_ZONE) return DAY_TIME.format(parsed);
  try {
    return new Intl.DateTimeFormat(LOCALES, {
      weekday: "short",
      year: "numeric",
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      timeZone,
      timeZoneName: "short",
    }).format(parsed);
  } catch {
    // An unknown zone name: the machine's time, rather than nothing.
    return DAY_TIME.format(parsed);
  }
}

/** Money with two decimals and the currency. */
export function formatMoney(amount: number): string {
  return MONEY.format(amount);
}

export function fullName(p: { firstName: string; lastName: string }): string {
  return `${p.firstName} ${p.lastName}`;
}

const LONG_DAY = new Intl.DateTimeFormat(LOCALES, {
  weekday: "long",
  year: "numeric",
  month: "long",
  day: "numeric",
  timeZone: "UTC",
});

/** A calendar day as e.g. "Monday, November 23, 2026". */
export function formatDay(isoDate: string): string {
  const parsed = new Date(`${isoDate}T00:00:00Z`);
  return Number.isNaN(parsed.getTime()) ? isoDate : LONG_DAY.format(parsed);
}
