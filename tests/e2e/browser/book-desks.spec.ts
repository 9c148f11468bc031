// Two desks (two `frontdesk serve` processes, each with its own data directory and keychain) on
// one file-backed Practice Studio server: a booking at one appears at the other without a reload;
// both taking the same slot leaves one booked and the other on the conflict list, shown in the
// book; and with the server stopped, a booking, a move, a cancellation and a check-in made at a
// desk are each sent exactly once when it is back.
import { expect, type Page, test } from "@playwright/test";
import { join } from "node:path";
import { artifactsDir, freeLoopbackPort, startApiServer, startServe, scratchDir } from "../support/desk.mjs";

type Desk = Awaited<ReturnType<typeof startServe>>;

interface Slot {
  startTime: string;
  providerId: string;
  locationId: string;
  date: string;
  startMinute: number;
}
interface Entry {
  appointment: { id: string; status: string; patientId: string };
  patientName: string;
  startMinute: number;
  pending: boolean;
  inConflict: boolean;
}
interface View {
  types: Array<{ name: string }>;
  columns: Array<{ date: string; providerId: string; appointments: Entry[] }>;
}

/** The desks run without `--demo` and keep the machine's date: the server must stand on it too
 * (a check-in stamped later than the server's today would be refused as in the future). */
const machineToday = () => new Date().toISOString().slice(0, 10);

const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;

async function ask<T>(page: Page, desk: Desk, command: string, args: object): Promise<T> {
  const answer = await page.request.post(`${desk.origin}/api/commands/${command}`, { data: args });
  expect(answer.ok(), `${command}: ${await answer.text()}`).toBeTruthy();
  return (await answer.json()) as T;
}

async function signIn(page: Page, desk: Desk) {
  await page.goto(desk.url);
  await page.getByLabel("User name").fill("reception@demo.clinic");
  await page.getByLabel("Password").fill("demo-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByTestId("signed-in-user")).toContainText("Reception");
  await expect(page.getByTestId("last-sync")).toHaveText(/^synced /, { timeout: 120_000 });
  // Free slots are computed from the cached book: the first sync must have read all of it.
  await expect
    .poll(
      async () => (await ask<{ status: { firstSyncDone: boolean } }>(page, desk, "sync_status", {})).status.firstSyncDone,
      { timeout: 120_000 },
    )
    .toBe(true);
}

async function activePatients(page: Page, desk: Desk, query: string) {
  const found = await ask<Array<{ id: string; lastName: string; firstName: string; status: string }>>(
    page,
    desk,
    "search_patients",
    { query },
  );
  return found.filter((p) => p.status === "active");
}

async function today(page: Page, desk: Desk): Promise<string> {
  return (await ask<{ today: string }>(page, desk, "app_status", {})).today;
}

async function freeHour(page: Page, desk: Desk, from: string, skip = 0): Promise<Slot> {
  return (await freeHours(page, desk, from, skip + 1))[skip];
}

/** Free hours that do not overlap one another (the finder offers every 15 minutes). */
async function freeHours(page: Page, desk: Desk, from: string, count: number): Promise<Slot[]> {
  const slots = await ask<Slot[]>(page, desk, "find_slots", { from, minutes: 60, limit: 50, timeOfDay: "morning" });
  const chosen: Slot[] = [];
  for (const slot of slots) {
    const clear = chosen.every(
      (c) => c.providerId !== slot.providerId || Math.abs(Date.parse(c.startTime) - Date.parse(slot.startTime)) >= 3_600_000,
    );
    if (clear) chosen.push(slot);
    if (chosen.length === count) break;
  }
  expect(chosen).toHaveLength(count);
  return chosen;
}

function bookingAt(slot: Slot, patientId: string, type: string, reason: string) {
  return {
    patientId,
    providerId: slot.providerId,
    locationId: slot.locationId,
    date: slot.date,
    minute: slot.startMinute,
    minutes: 15,
    type,
    reason,
  };
}

async function serverAppointments(apiUrl: string, patientId: string) {
  const answer = await fetch(`${apiUrl}/api/v1/appointments?patient_id=${patientId}&limit=100`, {
    headers: { Authorization: "ApiKey demo-api-key" },
  });
  return ((await answer.json()) as { appointments: Array<{ id: string; status: string; reason?: string; startTime: string }> })
    .appointments;
}

test("two desks: a booking at one appears at the other; the same slot taken twice leaves one conflict", async ({
  browser,
}) => {
  test.setTimeout(300_000);
  const port = await freeLoopbackPort();
  const database = join(scratchDir("frontdesk-api-"), "practice-studio.db");
  const api = await startApiServer({ port, database, today: machineToday() });
  const deskA = await startServe(["--api-url", api.url], { demo: false });
  const deskB = await startServe(["--api-url", api.url], { demo: false });
  const a = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
  const b = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
  try {
    await signIn(a, deskA);
    await signIn(b, deskB);
    const day = await today(a, deskA);
    const view = await ask<View>(a, deskA, "book_view", { date: day });
    const [first, second] = await activePatients(a, deskA, "smith");

    // Desk B looks at the day of a free hour; desk A books it.
    const slot = await freeHour(a, deskA, day);
    await b.getByRole("button", { name: "Book", exact: true }).click();
    await b.getByLabel("Go to date").fill(slot.date);
    await expect(b.getByRole("heading", { level: 1 })).not.toHaveText("");
    const booked = await ask<{ appointment: { id: string } }>(
      a,
      deskA,
      "book_appointment",
      bookingAt(slot, first.id, view.types[0].name, "Seen at the other desk"),
    );
    const name = `${first.lastName}, ${first.firstName}`;
    const atB = b.getByRole("button", { name: new RegExp(`^${hhmm(slot.startMinute)}–\\d\\d:\\d\\d ${name}, `) });
    await expect(atB).toBeVisible({ timeout: 15_000 });
    await b.screenshot({ path: join(artifactsDir, "browser-book-live-1366x768.png") });
    expect(booked.appointment.id).toBeTruthy();

    // Both desks take the same free slot at once: one is booked, the other refused onto the
    // conflict list, and the book at that desk shows it.
    const [, contested] = await freeHours(a, deskA, day, 2);
    const type = view.types[0].name;
    await Promise.all([
      ask(a, deskA, "book_appointment", bookingAt(contested, first.id, type, "Desk A was here")),
      ask(b, deskB, "book_appointment", bookingAt(contested, second.id, type, "Desk B was here")),
    ]);
    await expect
      .poll(
        async () => {
          const [ca, cb] = await Promise.all([
            a.getByTestId("conflict-count").textContent(),
            b.getByTestId("conflict-count").textContent(),
          ]);
          return [ca, cb].filter((t) => t?.startsWith("1 conflict")).length;
        },
        { timeout: 60_000 },
      )
      .toBe(1);
    const onServer = [
      ...(await serverAppointments(api.url, first.id)),
      ...(await serverAppointments(api.url, second.id)),
    ].filter((x) => x.reason === "Desk A was here" || x.reason === "Desk B was here");
    expect(onServer).toHaveLength(1);
    const loser = onServer[0].reason === "Desk A was here" ? { page: b, desk: deskB } : { page: a, desk: deskA };
    const loserView = await ask<View>(loser.page, loser.desk, "book_view", { date: contested.date });
    const refused = loserView.columns.flatMap((c) => c.appointments).filter((e) => e.inConflict);
    expect(refused.length).toBeGreaterThan(0);
    await loser.page.getByRole("button", { name: "Book", exact: true }).click();
    await loser.page.getByLabel("Go to date").fill(contested.date);
    await expect(loser.page.getByRole("button", { name: /refused, on the conflict list/ }).first()).toBeVisible({
      timeout: 15_000,
    });
    await loser.page.screenshot({ path: join(artifactsDir, "browser-book-conflict-1366x768.png") });
  } finally {
    await deskA.stop();
    await deskB.stop();
    await api.stop();
  }
});

test("offline: a booking, a move, a cancellation and a check-in made with the server stopped are each sent once", async ({
  page,
}) => {
  test.setTimeout(300_000);
  const port = await freeLoopbackPort();
  const database = join(scratchDir("frontdesk-api-"), "practice-studio.db");
  let api = await startApiServer({ port, database, today: machineToday() });
  const desk = await startServe(["--api-url", api.url], { demo: false });
  try {
    await signIn(page, desk);
    const day = await today(page, desk);
    const view = await ask<View>(page, desk, "book_view", { date: day });
    const type = view.types[0].name;
    const [patient, other] = await activePatients(page, desk, "johnson");
    // Two bookings made online, to move and to cancel offline; one more to check in.
    const [slotMove, slotCancel, slotCheckIn, slotNew] = await freeHours(page, desk, day, 4);
    const toMove = await ask<{ appointment: { id: string } }>(page, desk, "book_appointment", bookingAt(slotMove, other.id, type, "to move"));
    const toCancel = await ask<{ appointment: { id: string } }>(page, desk, "book_appointment", bookingAt(slotCancel, other.id, type, "to cancel"));
    const toCheckIn = await ask<{ appointment: { id: string } }>(page, desk, "book_appointment", bookingAt(slotCheckIn, other.id, type, "to check in"));
    await expect(page.getByTestId("pending-count")).toHaveText("0 pending", { timeout: 60_000 });

    await api.stop();
    await expect(page.getByTestId("connection-status")).toHaveText(/^Offline/, { timeout: 20_000 });

    // Offline, through the screens: book with the keyboard, move by a key, cancel, check in.
    await page.getByRole("button", { name: "Book", exact: true }).click();
    await page.getByLabel("Go to date").fill(slotNew.date);
    await page.getByRole("toolbar", { name: "Book navigation" }).getByRole("button", { name: /^Book/ }).click();
    const dialog = page.getByRole("dialog", { name: "Book an appointment" });
    await dialog.getByRole("combobox", { name: "Patient" }).pressSequentially(patient.lastName.toLowerCase());
    await expect(dialog.getByRole("option", { name: new RegExp(`${patient.lastName}, ${patient.firstName}`) }).first()).toBeVisible();
    await dialog.getByRole("option", { name: new RegExp(`${patient.lastName}, ${patient.firstName}`) }).first().click();
    await dialog.getByRole("combobox", { name: "Provider", exact: true }).selectOption({ value: slotNew.providerId }, { timeout: 10_000 });
    await dialog.getByRole("combobox", { name: "Location", exact: true }).selectOption({ value: slotNew.locationId }, { timeout: 10_000 });
    await dialog.getByLabel("Day", { exact: true }).fill(slotNew.date);
    await dialog.getByRole("textbox", { name: /^Time \(/ }).fill(hhmm(slotNew.startMinute));
    await dialog.getByLabel("Reason", { exact: true }).fill("Booked offline");
    await expect(dialog.getByText(/^Free: /)).toBeVisible();
    await dialog.getByRole("button", { name: "Book appointment" }).click();
    await expect(dialog).toBeHidden();
    const name = `${patient.lastName}, ${patient.firstName}`;
    await expect(page.getByRole("button", { name: new RegExp(`^${hhmm(slotNew.startMinute)}–\\d\\d:\\d\\d ${name}, .*pending`) })).toBeVisible();
    await page.screenshot({ path: join(artifactsDir, "browser-book-offline-1366x768.png") });

    await ask(page, desk, "reschedule_appointment", { appointmentId: toMove.appointment.id, date: slotMove.date, minute: slotMove.startMinute + 15 });
    await ask(page, desk, "cancel_appointment", { appointmentId: toCancel.appointment.id, reason: "Called while we were offline" });
    await ask(page, desk, "set_appointment_status", { appointmentId: toCheckIn.appointment.id, status: "checked_in" });
    await expect(page.getByTestId("pending-count")).toHaveText("4 pending", { timeout: 10_000 });

    api = await startApiServer({ port, database, today: machineToday() });
    await expect(page.getByTestId("pending-count")).toHaveText("0 pending", { timeout: 150_000 });
    const conflicts = await ask<unknown[]>(page, desk, "conflicts", {});
    expect(conflicts, JSON.stringify(conflicts)).toEqual([]);

    const mine = (await serverAppointments(api.url, patient.id)).filter((x) => x.reason === "Booked offline");
    expect(mine).toHaveLength(1);
    const others = await serverAppointments(api.url, other.id);
    const moved = others.filter((x) => x.reason === "to move");
    expect(moved).toHaveLength(1);
    expect(new Date(moved[0].startTime).getTime() - new Date(slotMove.startTime).getTime()).toBe(15 * 60_000);
    expect(others.filter((x) => x.reason === "to cancel").map((x) => x.status)).toEqual(["cancelled"]);
    expect(others.filter((x) => x.reason === "to check in").map((x) => x.status)).toEqual(["checked_in"]);
  } finally {
    await desk.stop();
    await api.stop();
  }
});
