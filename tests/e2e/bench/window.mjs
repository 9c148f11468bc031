// `make bench`: the real window's start-up time and memory, under Xvfb and a private D-Bus session
// (the Makefile runs this inside `xvfb-run` and `dbus-run-session`, like the window tests).
//
// - `cold_start_ms`: the `frontdesk` of FRONTDESK_BIN (`make bench` gives it the build clinics
//   install: profile `dist`, no demo feature) on a desk whose user signed in before, as on a
//   Monday morning: the process starts, the window opens on the lock screen (a restored session
//   starts locked), the bench enters the password the moment the field is there, and the clock
//   stops when the search box is on screen and enabled. Median of 5 starts. The process's start
//   is the kernel's (`/proc/<pid>/stat`, in clock ticks since boot, compared with `/proc/uptime`:
//   both 10 ms resolution); the end is read on the page's clock, one frame after the search box
//   came (see `shownAt`), and the bench types as soon as the page says the field is there. Each
//   start's phases go to stderr (the field there, the typing, the search box after Enter), with
//   where they fell inside the window (WebKit beginning the page, the desk's first screen up, the
//   desk shown: see `pagePhases`). `cold_start_less_typing_ms`: the same starts less the time
//   WebDriver took to type the password and press Enter. `empty_app_start_ms`: the empty app
//   below, process start to its page's text, measured the same way (what a WebKitGTK window alone
//   costs here).
// - `app_pss_mb`: proportional set size (`/proc/<pid>/smaps_rollup`) of the desk and every process
//   it started (WebKit's web and network processes) after signing in, the first sync and opening a
//   chart; `empty_app_pss_mb` the same for an empty Tauri 2 app (`bench/empty-app`, EMPTY_APP_BIN,
//   built with the same profile) showing its one page, with the desk's WebKit rendering
//   (compositing off, as the desk sets it); `app_pss_vs_empty_ratio` the quotient. Each
//   process's PSS, and its anonymous and file-backed parts, go to stderr as well.
//
// The API is a Practice Studio server on loopback with the demo data in a file (so the session the
// desk remembers is still valid when it starts again). Prints JSON lines; progress on stderr.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { remote } from "webdriverio";
import { DEMO_TODAY, freeLoopbackPort, frontdeskBin, privateHome, serverBin } from "../support/desk.mjs";

const STARTS = 5;
const emptyAppBin = process.env.EMPTY_APP_BIN ?? join(resolve(frontdeskBin, ".."), "empty-tauri-app");
const deskExe = realpathSync(frontdeskBin);
const emptyExe = realpathSync(emptyAppBin);
const log = (message) => process.stderr.write(`bench: ${message}\n`);

function figure(name, value, unit) {
  console.log(JSON.stringify({ name, value: Math.round(value * 1000) / 1000, unit }));
}

if (!process.env.DISPLAY || !process.env.DBUS_SESSION_BUS_ADDRESS) {
  throw new Error("run under xvfb-run and dbus-run-session (make bench does)");
}

/** The processes running this executable. */
function pidsOf(executable) {
  const found = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/exe`) === executable) found.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

/** `pid` and all its descendants. */
function family(pid) {
  const parents = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // Gone.
    }
  }
  const all = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [child, parent] of parents) {
      if (all.has(parent) && !all.has(child)) {
        all.add(child);
        grew = true;
      }
    }
  }
  return [...all];
}

/**
 * The PSS of `pid` and its descendants, read once: the sum (MiB), and each process's name, PSS and
 * its anonymous and file-backed parts, for the log.
 */
function memoryOf(pid) {
  const mib = (rollup, field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? 0) / 1024;
  let total = 0;
  const processes = [];
  for (const p of family(pid)) {
    try {
      const rollup = readFileSync(`/proc/${p}/smaps_rollup`, "utf8");
      const name = readFileSync(`/proc/${p}/comm`, "utf8").trim();
      total += mib(rollup, "Pss");
      processes.push(
        `${name} ${mib(rollup, "Pss").toFixed(1)} (anon ${mib(rollup, "Pss_Anon").toFixed(1)}, file ${mib(rollup, "Pss_File").toFixed(1)})`,
      );
    } catch {
      // Gone.
    }
  }
  return { total, processes: processes.join("; ") };
}

const CLOCK_TICKS_PER_S = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());

/** Milliseconds since boot, now (`/proc/uptime`, 10 ms resolution). */
function sinceBoot() {
  return Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 1000;
}

/**
 * When the process started, in ms since boot: the kernel's start time in clock ticks after boot,
 * read on the same clock as `sinceBoot`. (Converting it to wall time through `/proc/stat`'s
 * `btime`, whole seconds, would add an error of up to a second, the same for every process.)
 */
function startedSinceBoot(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
  return (ticks * 1000) / CLOCK_TICKS_PER_S;
}

/**
 * Where a start's time went inside the window, in ms after the process started: when WebKit began
 * loading the page (its `performance.timeOrigin`), and the User Timing marks the desk's page sets
 * (`ui/src/timing.ts`): its first screen up, the desk shown after the unlock.
 */
async function pagePhases(win, processStart) {
  const wallMinusBoot = Date.now() - sinceBoot();
  const page = await win.execute(() => ({
    origin: performance.timeOrigin,
    marks: performance.getEntriesByType("mark").map((m) => [m.name, m.startTime]),
  }));
  const pageStart = page.origin - wallMinusBoot - processStart;
  const mark = (name) => {
    const found = page.marks.find(([n]) => n === name);
    return found ? Math.round(pageStart + found[1]) : "-";
  };
  return {
    pageStart: Math.round(pageStart),
    firstScreen: mark("frontdesk:first-screen"),
    deskShown: mark("frontdesk:desk-shown"),
  };
}

/**
 * Waits inside the page until an element matching `selector` (and holding `text`, when given) is
 * there and enabled, and resolves with when that was, in ms since boot: the page's own clock
 * (`performance.timeOrigin` + `now()`), read one frame after the element came (so it has been
 * painted). WebDriver's own polling (a find every 20 ms, each a round trip through tauri-driver and
 * WebKitWebDriver to the page) saw it 100–150 ms later than that on this machine, which made the
 * figure err long by as much. A page not loaded yet, or replaced while waiting, is waited for again.
 */
async function shownAt(win, selector, text = "") {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const at = await win.executeAsync(
        (selector, text, done) => {
          const there = () => {
            const element = document.querySelector(selector);
            return !!element && !element.disabled && (element.textContent ?? "").includes(text);
          };
          const answer = () =>
            requestAnimationFrame(() => setTimeout(() => done(performance.timeOrigin + performance.now()), 0));
          if (there()) return answer();
          const watch = new MutationObserver(() => {
            if (!there()) return;
            watch.disconnect();
            answer();
          });
          watch.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
        },
        selector,
        text,
      );
      return at - (Date.now() - sinceBoot());
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function waitFor(check, what, timeout = 60_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function startServer(dir) {
  const port = await freeLoopbackPort();
  const child = spawn(
    serverBin,
    ["--bind", `127.0.0.1:${port}`, "--database", join(dir, "server.db"), "--demo", "--demo-today", DEMO_TODAY, "--unlimited-client", "frontdesk"],
    { stdio: ["ignore", "ignore", "inherit"], detached: true },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    try {
      return (await fetch(`${url}/health`)).ok;
    } catch {
      return false;
    }
  }, "the server", 300_000);
  return { url, stop: () => child.pid && process.kill(-child.pid, "SIGTERM") };
}

async function startDriver(env) {
  const port = await freeLoopbackPort();
  const nativePort = await freeLoopbackPort();
  const driver = spawn(
    "tauri-driver",
    ["--port", String(port), "--native-port", String(nativePort), "--native-driver", "/usr/bin/WebKitWebDriver"],
    { env, stdio: ["ignore", "ignore", "inherit"] },
  );
  await waitFor(async () => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/status`)).ok;
    } catch {
      return false;
    }
  }, "tauri-driver", 30_000);
  return { port, stop: () => driver.kill("SIGTERM") };
}

function open(port, application, args) {
  return remote({
    hostname: "127.0.0.1",
    port,
    logLevel: "warn",
    capabilities: {
      // @ts-expect-error tauri-driver's own capability
      "tauri:options": { application, args },
      "wdio:enforceWebDriverClassic": true,
    },
  });
}

/** Sets a field's value and checks it took. */
async function fill(win, selector, text) {
  const field = await win.$(selector);
  await field.waitForExist({ timeout: 30_000, interval: 20 });
  await field.setValue(text);
}

const dir = mkdtempSync(join(tmpdir(), "frontdesk-bench-window-"));
const { home, env } = privateHome();
execFileSync("gnome-keyring-daemon", ["--unlock", "--components=secrets"], { input: "frontdesk-bench", env });
let server;
let driver;
try {
  server = await startServer(dir);
  driver = await startDriver(env);
  const deskArgs = ["--api-url", server.url, "--data-dir", join(home, "desk")];

  // The first start: sign in, first sync, a chart; then the memory.
  let win = await open(driver.port, deskExe, deskArgs);
  await fill(win, "#sign-in-user", "reception@demo.clinic");
  await fill(win, "#sign-in-password", "demo-password");
  await win.keys(["Enter"]);
  await (await win.$('[data-testid="signed-in-user"]')).waitForExist({ timeout: 60_000 });
  await win.waitUntil(async () => /^synced /.test(await (await win.$('[data-testid="last-sync"]')).getText()), {
    timeout: 300_000,
    timeoutMsg: "the first sync never completed",
  });
  await (await win.$('[role="combobox"]')).click();
  await win.keys([..."smith"]);
  await (await win.$('[role="option"]')).waitForDisplayed({ timeout: 10_000 });
  await win.keys(["Enter"]);
  await (await win.$('[role="tablist"]')).waitForExist({ timeout: 10_000 });
  await new Promise((r) => setTimeout(r, 2000)); // Let the chart's fresh data arrive and settle.
  const [deskPid] = pidsOf(deskExe);
  if (!deskPid) throw new Error("the desk's process was not found");
  const desk = memoryOf(deskPid);
  const appPss = desk.total;
  log(`desk: ${appPss.toFixed(1)} MiB PSS; by process (MiB): ${desk.processes}`);
  await win.deleteSession();
  await waitFor(() => pidsOf(deskExe).length === 0, "the desk to close", 30_000);

  // Cold starts: the remembered session, locked; unlock; the search box.
  const starts = [];
  const withoutTyping = [];
  for (let i = 0; i < STARTS; i++) {
    win = await open(driver.port, deskExe, deskArgs);
    await win.setTimeout({ script: 60_000 });
    const fieldShown = await shownAt(win, "#unlock-secret");
    const field = sinceBoot();
    await (await win.$("#unlock-secret")).setValue("demo-password");
    await win.keys(["Enter"]);
    const typed = sinceBoot();
    const ready = await shownAt(win, '[role="combobox"]');
    const [pid] = pidsOf(deskExe);
    if (!pid) throw new Error("the desk's process was not found");
    const started = startedSinceBoot(pid);
    starts.push(ready - started);
    // The same start less the time WebDriver took to type the password and press Enter (the
    // person's part of the path; the desk handles each key as it comes in that time).
    withoutTyping.push(ready - started - (typed - field));
    const page = await pagePhases(win, started);
    log(
      `start ${i + 1}: page begun at ${page.pageStart} ms, its first screen up at ${page.firstScreen} ms, ` +
        `the field shown at ${Math.round(fieldShown - started)} ms and known to WebDriver at ${Math.round(field - started)} ms; ` +
        `typed in ${Math.round(typed - field)} ms; desk shown at ${page.deskShown} ms, ` +
        `the search box ${Math.round(ready - typed)} ms after Enter, at ${Math.round(ready - started)} ms`,
    );
    await win.deleteSession();
    await waitFor(() => pidsOf(deskExe).length === 0, "the desk to close", 30_000);
  }
  starts.sort((a, b) => a - b);
  withoutTyping.sort((a, b) => a - b);
  log(`starts: ${starts.map((s) => Math.round(s)).join(", ")} ms`);

  // The empty app's own start, measured the same way to its page's text: the floor a WebKitGTK
  // window sets on this machine.
  const emptyStarts = [];
  for (let i = 0; i < STARTS; i++) {
    win = await open(driver.port, emptyExe, []);
    await win.setTimeout({ script: 60_000 });
    const shown = await shownAt(win, "body", "Empty");
    const [pid] = pidsOf(emptyExe);
    if (!pid) throw new Error("the empty app's process was not found");
    const emptyStarted = startedSinceBoot(pid);
    emptyStarts.push(shown - emptyStarted);
    log(`empty app start ${i + 1}: page begun at ${(await pagePhases(win, emptyStarted)).pageStart} ms`);
    await win.deleteSession();
    await waitFor(() => pidsOf(emptyExe).length === 0, "the empty app to close", 30_000);
  }
  emptyStarts.sort((a, b) => a - b);
  log(`empty app starts: ${emptyStarts.map((s) => Math.round(s)).join(", ")} ms`);

  // The empty app, measured the same way.
  win = await open(driver.port, emptyExe, []);
  await win.waitUntil(async () => (await (await win.$("body")).getText()).includes("Empty"), { timeout: 60_000 });
  await new Promise((r) => setTimeout(r, 2000));
  const [emptyPid] = pidsOf(emptyExe);
  if (!emptyPid) throw new Error("the empty app's process was not found");
  const empty = memoryOf(emptyPid);
  const emptyPss = empty.total;
  log(`empty app: ${emptyPss.toFixed(1)} MiB PSS; by process (MiB): ${empty.processes}`);
  await win.deleteSession();

  figure("cold_start_ms", starts[Math.floor(starts.length / 2)], "ms");
  figure("cold_start_less_typing_ms", withoutTyping[Math.floor(withoutTyping.length / 2)], "ms");
  figure("empty_app_start_ms", emptyStarts[Math.floor(emptyStarts.length / 2)], "ms");
  figure("app_pss_mb", appPss, "MiB");
  figure("empty_app_pss_mb", emptyPss, "MiB");
  figure("app_pss_vs_empty_ratio", appPss / emptyPss, "x");
} finally {
  driver?.stop();
  server?.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
}
