// `make bench`: the appointment book's figures in browser mode (release `frontdesk serve`, Debian
// Chromium, a release Practice Studio server with the demo clinic on loopback).
//
// - week_view_render_ms: the week view of 10 providers (the demo clinic's busiest week, several
//   hundred appointments; the count goes to stderr), from the key that asks for it (→, next week)
//   to the first frame painted after the grid shows that week: the page's clock starts at the
//   key's `keydown` (capture phase) and stops in a timeout queued from the animation callback of
//   the frame after the book has committed the new week (its heading names the week and the grid
//   is no longer busy). The page is reloaded before each of the 15 samples, so every week comes
//   from the desk (the command), not from the page's query cache. Prints the median and p99.
// - desk_to_desk_ms: two desks (two `frontdesk serve` with their own data directories) on the one
//   server; desk B shows a day of the book; the bench books a free slot of that day at desk A (its
//   command over HTTP) and measures, on the machine's wall clock, from just before that request
//   until desk B has painted the new appointment (a MutationObserver sees its button, then the
//   next frame's timeout). 30 bookings, one at a time; p50 and p99.
//
// Prints JSON lines on stdout; progress on stderr.
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "@playwright/test";
import { freeLoopbackPort, serverBin, startServe } from "../support/desk.mjs";

const WEEK_SAMPLES = 15;
const WEEK_PROVIDERS = 10;
const DESK_SAMPLES = 30;
const log = (message) => process.stderr.write(`bench: ${message}\n`);

function figure(name, value, unit) {
  console.log(JSON.stringify({ name, value: Math.round(value * 1000) / 1000, unit }));
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * p))];
}

const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);
const hhmm = (m) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;

/** The desks keep the machine's date, so the server's demo book is built around it too. */
const today = isoDay(Date.now());

async function startServer(dir) {
  const port = await freeLoopbackPort();
  const child = spawn(
    serverBin,
    [
      "--bind",
      `127.0.0.1:${port}`,
      "--database",
      join(dir, "server.db"),
      "--demo",
      "--demo-patients",
      "2000",
      "--demo-today",
      today,
      "--unlimited-client",
      "frontdesk",
    ],
    { stdio: ["ignore", "ignore", openSync(join(dir, "server.log"), "a")], detached: true },
  );
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() - started > 300_000) throw new Error("the server did not start in 5 minutes");
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    stop: () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGTERM");
      } catch {
        // Already gone.
      }
    },
  };
}

async function command(page, desk, name, args) {
  const answer = await page.request.post(`${desk.origin}/api/commands/${name}`, { data: args });
  if (!answer.ok()) throw new Error(`${name}: ${answer.status()} ${await answer.text()}`);
  return answer.json();
}

async function signIn(page, desk) {
  await page.goto(desk.url);
  await page.getByLabel("User name").fill("reception@demo.clinic");
  await page.getByLabel("Password").fill("demo-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByTestId("signed-in-user").waitFor();
  const started = Date.now();
  for (;;) {
    const view = await command(page, desk, "sync_status", {});
    if (view?.status?.firstSyncDone) break;
    if (Date.now() - started > 600_000) throw new Error("the first sync did not finish in 10 minutes");
    await new Promise((r) => setTimeout(r, 500));
  }
}

// Runs in the page before the desk's own code: the keydown stamp.
function instrument() {
  const state = { down: 0 };
  // @ts-ignore: the bench's own global.
  window.__book = state;
  document.addEventListener(
    "keydown",
    () => {
      state.down = performance.now();
    },
    true,
  );
}

/** The week view of the chosen providers, from the → key to the painted week. */
async function weekSample(page, providerNames, fromDate) {
  await page.reload();
  await page.getByTestId("signed-in-user").waitFor();
  await page.getByRole("button", { name: "Book", exact: true }).click();
  await page.getByRole("button", { name: "Week", exact: true }).click();
  await page.getByLabel("Go to date").fill(fromDate);
  await page.locator("summary", { hasText: /^Providers/ }).click();
  for (const name of providerNames) {
    const box = page.getByRole("checkbox", { name, exact: true });
    if (!(await box.isChecked())) await box.check();
  }
  await page.locator("summary", { hasText: /^Providers/ }).click();
  await page.waitForFunction(() => document.querySelector(".book-grid")?.getAttribute("aria-busy") === "false");
  await page.getByRole("heading", { level: 1 }).click();
  // @ts-ignore: set by instrument().
  await page.evaluate(() => (window.__book.down = 0));
  const measured = page.evaluate(
    (shown) =>
      new Promise((resolve, reject) => {
        // @ts-ignore: set by instrument().
        const state = window.__book;
        const started = performance.now();
        const look = () => {
          const heading = document.querySelector("#book-title")?.textContent;
          const busy = document.querySelector(".book-grid")?.getAttribute("aria-busy");
          // The next week named, and its appointments in the grid (no longer fetching).
          if (heading !== shown && busy === "false" && state.down > 0) {
            requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - state.down), 0));
          } else if (performance.now() - started > 20_000) {
            reject(new Error(`the week after "${shown}" was not shown (heading "${heading}", busy ${busy}, key ${state.down})`));
          } else {
            setTimeout(look, 0);
          }
        };
        look();
      }),
    await page.locator("#book-title").textContent(),
  );
  await page.keyboard.press("ArrowRight");
  return measured;
}

function armPaint(label) {
  // @ts-ignore: the bench's own global.
  window.__painted = new Promise((resolve) => {
    const seen = () => [...document.querySelectorAll("button[aria-label]")].some((b) => b.getAttribute("aria-label")?.startsWith(label));
    const done = () => requestAnimationFrame(() => setTimeout(() => resolve(Date.now()), 0));
    if (seen()) return done();
    const observer = new MutationObserver(() => {
      if (seen()) {
        observer.disconnect();
        done();
      }
    });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-label"] });
  });
}

const dir = mkdtempSync(join(tmpdir(), "frontdesk-bench-book-"));
let server;
let deskA;
let deskB;
let browser;
try {
  log("starting the server and two desks");
  server = await startServer(dir);
  deskA = await startServe(["--api-url", server.url], { demo: false, logFile: join(dir, "desk-a.log") });
  deskB = await startServe(["--api-url", server.url], { demo: false, logFile: join(dir, "desk-b.log") });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  const a = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const b = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await a.addInitScript(instrument);
  await signIn(a, deskA);
  await signIn(b, deskB);
  log("both desks synced");

  // week_view_render_ms: the week (Monday first) with the most appointments of 10 providers.
  const dayView = await command(a, deskA, "book_view", { date: today });
  const providers = dayView.providers.slice(0, WEEK_PROVIDERS);
  const monday = (d) => {
    const t = Date.parse(`${d}T12:00:00Z`);
    const wd = (new Date(t).getUTCDay() + 6) % 7;
    return isoDay(t - wd * 86_400_000);
  };
  let best = { week: monday(today), count: -1 };
  for (let w = -2; w <= 2; w++) {
    const week = isoDay(Date.parse(`${monday(today)}T12:00:00Z`) + w * 7 * 86_400_000);
    const view = await command(a, deskA, "book_view", { date: week, days: 7, providerIds: providers.map((p) => p.id) });
    const count = view.columns.reduce((n, c) => n + c.appointments.length, 0);
    if (count > best.count) best = { week, count };
  }
  log(`week of ${best.week}: ${providers.length} providers, ${best.count} appointments`);
  const before = isoDay(Date.parse(`${best.week}T12:00:00Z`) - 7 * 86_400_000);
  const weekTimes = [];
  for (let i = 0; i < WEEK_SAMPLES; i++) {
    weekTimes.push(await weekSample(a, providers.map((p) => p.name), before));
  }
  weekTimes.sort((x, y) => x - y);
  log(`week view: ${weekTimes.map((t) => t.toFixed(0)).join(" ")} ms`);
  figure("week_view_render_p50_ms", percentile(weekTimes, 0.5), "ms");
  figure("week_view_render_ms", percentile(weekTimes, 0.99), "ms");

  // desk_to_desk_ms: desk B shows the day of the free slots; desk A books them one at a time.
  const patients = [];
  for (const seed of ["smith", "john", "gar", "lee", "mar", "ann", "rob", "kim", "wil", "dav", "tho", "har"]) {
    const found = await command(a, deskA, "search_patients", { query: seed });
    for (const p of found) if (p.status === "active" && !patients.some((q) => q.id === p.id)) patients.push(p);
  }
  const tomorrow = isoDay(Date.now() + 86_400_000);
  const slots = await command(a, deskA, "find_slots", { from: tomorrow, days: 30, minutes: 15, limit: 50 });
  const date = slots[0].date;
  const sameDay = slots.filter((s) => s.date === date).slice(0, DESK_SAMPLES);
  if (sameDay.length < 10 || patients.length < sameDay.length) throw new Error("not enough free slots or patients");
  await b.getByRole("button", { name: "Book", exact: true }).click();
  await b.getByLabel("Go to date").fill(date);
  await b.waitForFunction(() => document.querySelector(".book-grid")?.getAttribute("aria-busy") === "false");
  const type = dayView.types.find((t) => t.defaultDuration <= 30)?.name ?? dayView.types[0].name;
  const deskTimes = [];
  for (let i = 0; i < sameDay.length; i++) {
    const slot = sameDay[i];
    const patient = patients[i];
    const label = `${hhmm(slot.startMinute)}–${hhmm(slot.startMinute + 15)} ${patient.lastName}, ${patient.firstName},`;
    await b.evaluate(armPaint, label);
    const sent = Date.now();
    await command(a, deskA, "book_appointment", {
      patientId: patient.id,
      providerId: slot.providerId,
      locationId: slot.locationId,
      date: slot.date,
      minute: slot.startMinute,
      minutes: 15,
      type,
    });
    // @ts-ignore: set by armPaint.
    const painted = await b.evaluate(() => window.__painted);
    deskTimes.push(painted - sent);
  }
  deskTimes.sort((x, y) => x - y);
  log(`desk to desk: ${deskTimes.length} bookings, ${deskTimes.map((t) => t.toFixed(0)).join(" ")} ms`);
  figure("desk_to_desk_p50_ms", percentile(deskTimes, 0.5), "ms");
  figure("desk_to_desk_ms", percentile(deskTimes, 0.99), "ms");
} finally {
  await browser?.close();
  await deskA?.stop();
  await deskB?.stop();
  server?.stop();
  rmSync(dir, { recursive: true, force: true });
}
