// The appointment book in browser mode, as a receptionist uses it: the day view (a column per
// provider, hours and breaks shaded, a "now" line), going through days and weeks by keys, booking
// with the keyboard alone through the next free slot, a clash shown before saving, moving by
// keys and by drag and drop with undo, the status flow with its undo moves, cancelling with a
// reason, and the flow board of today. axe finds no serious or critical violation on each screen.
import AxeBuilder from "@axe-core/playwright";
import { expect, type Page, test } from "@playwright/test";
import { join } from "node:path";
import { artifactsDir, DEMO_TODAY, startServe } from "../support/desk.mjs";

let desk: Awaited<ReturnType<typeof startServe>>;

test.describe.configure({ mode: "serial", timeout: 180_000 });
test.beforeAll(async () => {
  desk = await startServe();
});
test.afterAll(() => desk?.stop());

async function expectAccessible(page: Page, screen: string) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21aa"]).analyze();
  const serious = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
  expect(serious, `accessibility of ${screen}`).toEqual([]);
}

async function signIn(page: Page) {
  await page.goto(desk.url);
  const signedIn = page.getByTestId("signed-in-user");
  await expect(signedIn.or(page.getByRole("heading", { name: "Sign in to Front Desk" }))).toBeVisible();
  if (!(await signedIn.isVisible())) {
    await page.getByLabel("User name").fill("reception@demo.clinic");
    await page.getByLabel("Password").fill("demo-password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
  }
  await expect(signedIn).toContainText("Reception");
  await expect(page.getByTestId("last-sync")).toHaveText(/^synced /, { timeout: 90_000 });
  // Free slots are computed from the cached book: the first sync must have read all of it.
  await expect
    .poll(async () => (await ask<{ status: { firstSyncDone: boolean } }>(page, "sync_status", {})).status.firstSyncDone, {
      timeout: 120_000,
    })
    .toBe(true);
}

/** Calls a desk command the way the page does (its cookie carries the launch's key). */
async function ask<T>(page: Page, command: string, args: object): Promise<T> {
  const answer = await page.request.post(`${desk.origin}/api/commands/${command}`, { data: args });
  expect(answer.ok(), `${command}: ${await answer.text()}`).toBeTruthy();
  return (await answer.json()) as T;
}

interface Slot {
  providerId: string;
  providerName: string;
  locationName: string;
  locationId: string;
  date: string;
  startMinute: number;
}
interface Pending {
  appointment: { id: string };
}

const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;

/** A 15-minute booking at the start of a free hour, so it has room to move. */
async function bookWithRoom(page: Page, patientQuery: string): Promise<{ slot: Slot; id: string; name: string }> {
  const [patient] = await ask<Array<{ id: string; lastName: string; firstName: string; status: string }>>(
    page,
    "search_patients",
    { query: patientQuery },
  ).then((all) => all.filter((p) => p.status === "active"));
  const view = await ask<{ types: Array<{ name: string }> }>(page, "book_view", { date: DEMO_TODAY });
  const [slot] = await ask<Slot[]>(page, "find_slots", { from: DEMO_TODAY, minutes: 60, limit: 1, timeOfDay: "morning" });
  const pending = await ask<Pending>(page, "book_appointment", {
    patientId: patient.id,
    providerId: slot.providerId,
    locationId: slot.locationId,
    date: slot.date,
    minute: slot.startMinute,
    minutes: 15,
    type: view.types[0].name,
    reason: "Book test",
  });
  return { slot, id: pending.appointment.id, name: `${patient.lastName}, ${patient.firstName}` };
}

test("the day view: a column per provider with hours, breaks and now; days and weeks by keys", async ({ page }) => {
  await signIn(page);
  await page.getByRole("button", { name: "Book", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Monday, November 23, 2026" })).toBeVisible();
  const clinic = await ask<{ columns: Array<{ providerName: string; locationName: string }> }>(page, "book_view", {
    date: DEMO_TODAY,
  });
  expect(clinic.columns.length).toBeGreaterThan(2);
  for (const c of clinic.columns) {
    await expect(page.getByRole("group", { name: `${c.providerName}, ${c.locationName}` })).toBeVisible();
  }
  await expect(page.getByText("Break").first()).toBeVisible();
  await expect(page.getByRole("button", { name: /Scheduled|Checked in|Completed/ }).first()).toBeVisible();
  await page.screenshot({ path: join(artifactsDir, "browser-book-day-1366x768.png") });
  await expectAccessible(page, "the day view");

  await page.keyboard.press("ArrowRight");
  await expect(page.getByRole("heading", { level: 1, name: "Tuesday, November 24, 2026" })).toBeVisible();
  await page.keyboard.press("t");
  await expect(page.getByRole("heading", { level: 1, name: "Monday, November 23, 2026" })).toBeVisible();

  // Filters: one specialty leaves only its providers.
  const specialty = page.getByLabel("Specialty");
  const options = await specialty.locator("option").allTextContents();
  await specialty.selectOption(options[1]);
  const narrowed = await ask<{ columns: Array<{ providerName: string; locationName: string; specialty: string }> }>(
    page,
    "book_view",
    { date: DEMO_TODAY, specialty: options[1] },
  );
  expect(narrowed.columns.length).toBeLessThan(clinic.columns.length);
  for (const c of clinic.columns) {
    const shown = narrowed.columns.some((n) => n.providerName === c.providerName && n.locationName === c.locationName);
    await expect(page.getByRole("group", { name: `${c.providerName}, ${c.locationName}` })).toHaveCount(shown ? 1 : 0);
  }
  await specialty.selectOption("");

  await page.keyboard.press("w");
  await expect(page.getByRole("heading", { level: 1, name: "Week of Monday, November 23, 2026" })).toBeVisible();
  await expect(page.getByText("Providers (1)")).toBeVisible();
  await expect(page.locator(".book-colday")).toHaveCount(7);
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.screenshot({ path: join(artifactsDir, "browser-book-week-1920x1080.png") });
  await expectAccessible(page, "the week view");
  await page.setViewportSize({ width: 1366, height: 768 });
  await page.keyboard.press("d");
  await expect(page.getByRole("heading", { level: 1, name: "Monday, November 23, 2026" })).toBeVisible();

  // The day sheet: each provider's day with phone numbers, printable, and as a PDF made in memory.
  await page.getByRole("button", { name: "Day sheet" }).click();
  const sheet = page.getByRole("dialog", { name: "Day sheet" });
  const first = clinic.columns[0];
  await expect(sheet.getByRole("region", { name: new RegExp(`^${first.providerName}, `) })).toBeVisible();
  await sheet.getByRole("button", { name: "Make a PDF" }).click();
  const downloading = page.waitForEvent("download");
  await sheet.getByRole("link", { name: "Save the PDF" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe(`day-sheet-${DEMO_TODAY}.pdf`);
  const path = await download.path();
  const bytes = (await import("node:fs")).readFileSync(path);
  expect(bytes.subarray(0, 5).toString()).toBe("%PDF-");
  await page.keyboard.press("Escape");
  await expect(sheet).toBeHidden();

  await page.keyboard.press("?");
  const shortcuts = page.getByRole("dialog", { name: "Keyboard shortcuts" });
  await expect(shortcuts.getByRole("row", { name: /Alt\+↑/ })).toContainText("15 minutes");
  await page.keyboard.press("Escape");
});

test("a week of the whole clinic: the columns in view are drawn, scrolling brings the rest at once, Tab goes on", async ({ page }) => {
  await signIn(page);
  await page.getByRole("button", { name: "Book", exact: true }).click();
  await page.keyboard.press("w");
  await expect(page.getByRole("heading", { level: 1, name: "Week of Monday, November 23, 2026" })).toBeVisible();
  const clinic = await ask<{ providers: Array<{ id: string; name: string }> }>(page, "book_view", { date: DEMO_TODAY });
  await page.locator("summary", { hasText: /^Providers/ }).click();
  for (const p of clinic.providers) {
    const box = page.getByRole("checkbox", { name: p.name, exact: true });
    if (!(await box.isChecked())) await box.check();
  }
  await page.locator("summary", { hasText: /^Providers/ }).click();
  const week = await ask<{
    columns: Array<{ providerName: string; locationName: string; appointments: unknown[] }>;
  }>(page, "book_view", { date: DEMO_TODAY, days: 7, providerIds: clinic.providers.map((p) => p.id) });
  const total = week.columns.length;
  expect(total).toBeGreaterThan(40);
  await expect(page.getByText(`Providers (${clinic.providers.length})`)).toBeVisible();
  await expect(page.locator(".book-grid")).toHaveAttribute("aria-busy", "false");

  // Only the columns in view (and a few beside them) are in the page, not the whole week.
  const drawn = await page.locator(".book-col").count();
  expect(drawn).toBeGreaterThan(5);
  expect(drawn).toBeLessThan(total / 2);
  await page.screenshot({ path: join(artifactsDir, "browser-book-week-clinic-1366x768.png") });

  // Wherever the grid is scrolled to, the columns in view are drawn by the next frame: no blank
  // stretch of grid (the hour lines of an undrawn column would show through).
  const scroller = page.locator(".book-grid-scroll");
  const uncovered = (to: number) =>
    scroller.evaluate(
      (el, left) =>
        new Promise<number>((resolve) => {
          el.scrollLeft = left;
          requestAnimationFrame(() =>
            requestAnimationFrame(() => {
              const view = el.getBoundingClientRect();
              const from = view.left + 56;
              const spans = [...el.querySelectorAll(".book-col")]
                .map((c) => c.getBoundingClientRect())
                .map((r) => [Math.max(r.left, from), Math.min(r.right, view.right)] as const)
                .filter(([a, b]) => b > a)
                .sort((x, y) => x[0] - y[0]);
              let reached = from;
              let gaps = 0;
              for (const [a, b] of spans) {
                if (a > reached + 1) gaps += a - reached;
                reached = Math.max(reached, b);
              }
              resolve(gaps + Math.max(0, view.right - 20 - reached));
            }),
          );
        }),
      to,
    );
  const width = await scroller.evaluate((el) => el.scrollWidth - el.clientWidth);
  expect(width).toBeGreaterThan(2000);
  for (const to of [700, 2_100, Math.round(width / 2), width - 300, width]) {
    expect(await uncovered(to), `blank grid at scrollLeft ${to}`).toBe(0);
  }
  // The last column of the week (Sunday's last provider) is there at the far end.
  const last = week.columns[total - 1]!;
  await expect(page.getByRole("group", { name: new RegExp(`^${last.providerName}, ${last.locationName}, Sun, `) })).toBeVisible();
  await page.setViewportSize({ width: 1920, height: 1080 });
  await scroller.evaluate((el) => (el.scrollLeft = 0));
  await page.screenshot({ path: join(artifactsDir, "browser-book-week-clinic-1920x1080.png") });
  await page.setViewportSize({ width: 1366, height: 768 });

  // Tab from the last appointment drawn goes on from appointment to appointment (the grid does not
  // let focus fall out of it at the edge of what is drawn).
  const drawnBefore = new Set(
    await page.locator(".book-col").evaluateAll((cols) => cols.map((c) => c.getAttribute("aria-label") ?? "")),
  );
  await page.locator(".book-col").last().locator("button.appt").last().focus();
  // …into columns that were not drawn when it started: the next ones come as focus reaches them.
  const seen = new Set<string>();
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press("Tab");
    const name = await page.evaluate(() => document.activeElement?.closest(".book-col")?.getAttribute("aria-label") ?? "");
    expect(name, `Tab ${i} is still on an appointment (after ${[...seen].join("; ")})`).not.toBe("");
    seen.add(name);
    if ([...seen].filter((n) => !drawnBefore.has(n)).length >= 2) break;
  }
  expect([...seen].filter((name) => !drawnBefore.has(name)).length, `Tab reached only ${[...seen].join("; ")}`).toBeGreaterThanOrEqual(2);
  await expectAccessible(page, "the clinic's week");
});

test("booking with the keyboard alone: the next free slot, pending, then confirmed; a clash shows before saving", async ({
  page,
}) => {
  await signIn(page);
  await page.getByRole("button", { name: "Book", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Monday, November 23, 2026" })).toBeVisible();
  await page.locator("body").press("b");
  const dialog = page.getByRole("dialog", { name: "Book an appointment" });
  await expect(dialog).toBeVisible();
  const patient = dialog.getByRole("combobox", { name: "Patient" });
  await expect(patient).toBeFocused();
  await patient.pressSequentially("johnson");
  // As a person would: Enter once the list shows what was typed (for a moment it can still show
  // an earlier query's, "john"'s, with another patient first).
  await expect(dialog.getByRole("option").first()).toContainText(/johnson/i, { timeout: 10_000 });
  const chosenName = (await dialog.getByRole("option").first().locator("span").first().textContent())?.trim() ?? "";
  await page.keyboard.press("Enter");
  await expect(dialog.getByLabel("Type")).toBeFocused();
  await page.keyboard.press("Alt+f");
  const slots = dialog.getByRole("list", { name: "Free slots" });
  await expect(slots.getByRole("button").first()).toBeFocused({ timeout: 10_000 });
  await page.screenshot({ path: join(artifactsDir, "browser-book-slots-1366x768.png") });
  await expectAccessible(page, "the booking form");
  const slotText = (await slots.getByRole("button").first().textContent()) ?? "";
  const time = /(\d\d:\d\d)/.exec(slotText)?.[1] ?? "";
  await page.keyboard.press("Enter");
  await expect(dialog.getByText(/^Free: /)).toBeVisible();
  await expect(dialog.getByRole("button", { name: "Book appointment" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(dialog).toBeHidden();

  const booked = page.getByRole("button", { name: new RegExp(`^${time}–\\d\\d:\\d\\d ${chosenName}, `) });
  await expect(booked).toBeVisible();
  await expect(page.getByRole("status", { name: "Last change" })).toContainText("Booked");
  // Pending (dashed, a clock) until the server confirms it, then plain.
  await expect(booked).not.toHaveAccessibleName(/pending/, { timeout: 30_000 });

  // The same time again: the clash is named before saving and the booking cannot be sent.
  await booked.click();
  const detail = page.getByRole("complementary", { name: "Selected appointment" });
  await expect(detail).toContainText(chosenName);
  await page.getByRole("toolbar", { name: "Book navigation" }).getByRole("button", { name: /^Book/ }).click();
  await expect(dialog).toBeVisible();
  await dialog.getByRole("combobox", { name: "Patient" }).pressSequentially("smith");
  await expect(dialog.getByRole("option").first()).toBeVisible({ timeout: 10_000 });
  await page.keyboard.press("Enter");
  await dialog.getByRole("textbox", { name: /^Time \(/ }).fill(time);
  await expect(dialog.getByRole("alert").filter({ hasText: "Clashes with" })).toContainText(chosenName);
  await expect(dialog.getByRole("button", { name: "Book appointment" })).toBeDisabled();
  await page.screenshot({ path: join(artifactsDir, "browser-book-clash-1366x768.png") });
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
});

test("moving by keys and by drag and drop, each with undo; statuses by keys; cancelling with a reason", async ({
  page,
}) => {
  await signIn(page);
  const { slot, name } = await bookWithRoom(page, "williams");
  await page.getByRole("button", { name: "Book", exact: true }).click();
  await page.getByLabel("Go to date").fill(slot.date);
  const start = hhmm(slot.startMinute);
  const appt = (at: string) => page.getByRole("button", { name: new RegExp(`^${at}–\\d\\d:\\d\\d ${name}, `) });
  await expect(appt(start)).toBeVisible({ timeout: 20_000 });

  // Alt+↓: 15 minutes later, with an undo for 10 seconds (Ctrl+Z).
  await appt(start).focus();
  await page.keyboard.press("Alt+ArrowDown");
  await expect(page.getByRole("status", { name: "Last change" })).toContainText(`to `);
  await expect(appt(hhmm(slot.startMinute + 15))).toBeVisible();
  await page.keyboard.press("Control+z");
  await expect(appt(start)).toBeVisible();

  // Drag and drop 30 minutes later (the hour is free), then undo from the toast's button.
  await appt(start).scrollIntoViewIfNeeded();
  const box = await appt(start).boundingBox();
  if (!box) throw new Error("the appointment is not on screen");
  // Straight down its own column: 30 minutes are 42 px (1.4 px a minute).
  await page.mouse.move(box.x + 12, box.y + 5);
  await page.mouse.down();
  await page.mouse.move(box.x + 12, box.y + 15, { steps: 2 });
  await page.mouse.move(box.x + 12, box.y + 5 + 30 * 1.4, { steps: 4 });
  await page.mouse.up();
  // A drop lands on the quarter-hour grid of the wall clock.
  await expect(appt(hhmm(Math.round((slot.startMinute + 30) / 15) * 15))).toBeVisible();
  await page.screenshot({ path: join(artifactsDir, "browser-book-moved-1366x768.png") });
  await page.getByRole("status", { name: "Last change" }).getByRole("button", { name: /Undo/ }).click();
  await expect(appt(start)).toBeVisible();

  // Check in by key, undo the accidental check-in; cancel with a reason, restore it.
  await appt(start).focus();
  await page.keyboard.press("i");
  await expect(appt(start)).toHaveAccessibleName(/Checked in/);
  await page.keyboard.press("Control+z");
  await expect(appt(start)).toHaveAccessibleName(/Scheduled/);
  await appt(start).focus();
  await page.keyboard.press("Delete");
  const cancel = page.getByRole("dialog", { name: "Cancel the appointment" });
  await cancel.getByLabel("Reason for cancelling").fill("Patient called: feeling better");
  await page.keyboard.press("Enter");
  await expect(appt(start)).toHaveAccessibleName(/Cancelled/);
  const detail = page.getByRole("complementary", { name: "Selected appointment" });
  await expect(detail).toContainText("Patient called: feeling better");
  await detail.getByRole("button", { name: "Restore" }).click();
  await expect(appt(start)).toHaveAccessibleName(/Scheduled/);

  // No-show, then the late patient arrives: checked in, in room, completed.
  await appt(start).focus();
  await page.keyboard.press("n");
  await expect(appt(start)).toHaveAccessibleName(/No-show/);
  await detail.getByRole("button", { name: "Arrived late: check in" }).click();
  await expect(appt(start)).toHaveAccessibleName(/Checked in/);
  await appt(start).focus();
  await page.keyboard.press("r");
  await expect(appt(start)).toHaveAccessibleName(/In room/);
  await page.keyboard.press("c");
  await expect(appt(start)).toHaveAccessibleName(/Completed/);
  // A completed visit does not move.
  await page.keyboard.press("Alt+ArrowDown");
  await expect(page.getByRole("alert").filter({ hasText: "Only a scheduled appointment can be moved" })).toBeVisible();
  await expectAccessible(page, "the book with a selected appointment");
});

test("the flow board: a checked-in patient waits, then is in a room with their provider", async ({ page }) => {
  await signIn(page);
  const view = await ask<{
    columns: Array<{ providerName: string; appointments: Array<{ appointment: { id: string; status: string }; patientName: string; nextStatuses: string[] }> }>;
  }>(page, "book_view", { date: DEMO_TODAY });
  // Today's demo book plays out by the clock: early in the day most visits are still scheduled,
  // late in the evening they are over, and a no-show (a late arrival) is what can still check in.
  const canCheckIn = (a: { nextStatuses: string[] }) => a.nextStatuses.includes("checked_in");
  const column = view.columns.find((c) => c.appointments.some(canCheckIn));
  if (!column) throw new Error("no appointment today that could check in");
  const entry = column.appointments.find(canCheckIn)!;
  await ask(page, "set_appointment_status", { appointmentId: entry.appointment.id, status: "checked_in" });

  await page.getByRole("button", { name: "Today", exact: true }).click();
  const waiting = page.getByRole("region", { name: /^Waiting/ });
  const row = waiting.getByRole("row", { name: new RegExp(entry.patientName) });
  await expect(row).toContainText("min waiting");
  await expect(row).toContainText(column.providerName);
  await page.screenshot({ path: join(artifactsDir, "browser-flow-board-1366x768.png") });
  await expectAccessible(page, "the flow board");
  await row.getByRole("button", { name: `In room: ${entry.patientName}` }).click();
  const inRoom = page.getByRole("region", { name: /^In a room/ });
  await expect(inRoom.getByRole("row", { name: new RegExp(entry.patientName) })).toContainText(column.providerName);
});
