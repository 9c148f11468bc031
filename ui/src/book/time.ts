// Calendar days and wall-clock minutes as the book shows them. The desk sends every position as
// minutes since the column's local midnight at its location, so nothing here needs a time zone.

/** 545 → "09:05". */
export function hhmm(minute: number): string {
  const m = Math.max(0, Math.min(24 * 60, Math.round(minute)));
  return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
}

/** "09:05" → 545; null when it is not a time. */
export function parseHhmm(text: string): number | null {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!match) return null;
  const [h, m] = [Number(match[1]), Number(match[2])];
  return h < 24 && m < 60 ? h * 60 + m : null;
}

/** A calendar day moved by `days`. */
export function addDays(isoDate: string, days: number): string {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The Monday of a day's week. */
export function weekStart(isoDate: string): string {
  const d = new Date(`${isoDate}T00:00:00Z`);
  const back = (d.getUTCDay() + 6) % 7;
  return addDays(isoDate, -back);
}

const LONG = new Intl.DateTimeFormat("en-US", { weekday: "long", month: "long", day: "numeric", year: "numeric", timeZone: "UTC" });
const SHORT = new Intl.DateTimeFormat("en-US", { weekday: "short", month: "short", day: "numeric", timeZone: "UTC" });

/** "Monday, November 23, 2026". */
export function longDay(isoDate: string): string {
  return LONG.format(new Date(`${isoDate}T00:00:00Z`));
}

/** "Mon, Nov 23". */
export function shortDay(isoDate: string): string {
  return SHORT.format(new Date(`${isoDate}T00:00:00Z`));
}

const WEEKDAY = new Intl.DateTimeFormat("en-US", { weekday: "short", timeZone: "UTC" });

/** "Mon 23": a week column's day, where the week's title already names the month. */
export function columnDay(isoDate: string): string {
  const date = new Date(`${isoDate}T00:00:00Z`);
  return `${WEEKDAY.format(date)} ${date.getUTCDate()}`;
}

/** Whole minutes from an instant to now (never negative). */
export function minutesSince(instant: string | null | undefined, now: number): number {
  if (!instant) return 0;
  const t = new Date(instant).getTime();
  return Number.isNaN(t) ? 0 : Math.max(0, Math.floor((now - t) / 60_000));
}
