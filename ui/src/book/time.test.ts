import { describe, expect, it } from "vitest";
import { addDays, columnDay, hhmm, minutesSince, parseHhmm, weekStart } from "./time";

describe("the book's days and minutes", () => {
  it("writes and reads wall-clock minutes", () => {
    expect(hhmm(545)).toBe("09:05");
    expect(hhmm(0)).toBe("00:00");
    expect(parseHhmm("09:05")).toBe(545);
    expect(parseHhmm("9:30")).toBe(570);
    expect(parseHhmm("24:00")).toBeNull();
    expect(parseHhmm("noon")).toBeNull();
  });

  it("moves calendar days across months and years, whatever the machine's zone", () => {
    expect(addDays("2026-11-30", 1)).toBe("2026-12-01");
    expect(addDays("2027-01-01", -1)).toBe("2026-12-31");
    expect(addDays("2026-03-08", 1)).toBe("2026-03-09");
  });

  it("names a week column's day by weekday and day of the month, whatever the machine's zone", () => {
    expect(columnDay("2026-11-23")).toBe("Mon 23");
    expect(columnDay("2026-12-01")).toBe("Tue 1");
    expect(columnDay("2027-01-03")).toBe("Sun 3");
  });

  it("starts a week on its Monday", () => {
    expect(weekStart("2026-11-23")).toBe("2026-11-23");
    expect(weekStart("2026-11-29")).toBe("2026-11-23");
    expect(weekStart("2026-11-26")).toBe("2026-11-23");
  });

  it("counts whole minutes waited, never negative", () => {
    const now = Date.parse("2026-11-23T15:30:00Z");
    expect(minutesSince("2026-11-23T15:18:30Z", now)).toBe(11);
    expect(minutesSince("2026-11-23T15:40:00Z", now)).toBe(0);
    expect(minutesSince(null, now)).toBe(0);
  });
});
