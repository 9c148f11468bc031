// The in-app updater end to end (issue 12). Run by scripts/update-e2e.sh inside a private mount
// namespace where Front Desk N is installed from its .deb (overlays over /usr, /etc and /var, a
// pkexec that runs the command as is), under Xvfb and a private D-Bus session. Driven through
// tauri-driver like the real-window test:
//   1. an administrator signs in to N; "Update available: N+1, <notes>" shows; Install downloads
//      and verifies it, and it waits; locking the desk lets it install (dpkg -i through pkexec);
//      the desk starts again by itself, and reports N+1;
//   2. an update whose package was altered, then one signed by another key: both are refused
//      with a message an administrator can read, and N+1 stays installed;
//   3. N+2 downloaded and waiting while the administrator works, then the desk is told to stop
//      (SIGTERM, as when the session ends or the machine shuts down): N+2 installs as it closes.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { remote } from "webdriverio";
import { artifactsDir, freeLoopbackPort, privateHome, startApiServer } from "../support/desk.mjs";

const env = (/** @type {string} */ name) => {
  const value = process.env[name];
  assert.ok(value, `${name} is set (scripts/update-e2e.sh sets it)`);
  return value;
};
const installed = "/usr/bin/frontdesk";
const versionN = env("UPDATE_E2E_N");
const versionN1 = env("UPDATE_E2E_N1");
const versionN2 = env("UPDATE_E2E_N2");
const updateUrl = env("UPDATE_E2E_URL");
const serveDir = env("UPDATE_E2E_SERVE");
const logFile = env("UPDATE_E2E_LOG");

/** The version dpkg has installed. */
const dpkgVersion = () => execFileSync("dpkg-query", ["-W", "-f=${Version}", "frontdesk"]).toString().trim();

/** Pids of running `frontdesk` processes started from the installed binary. */
function installedDesks() {
  /** @type {Array<{ pid: number, relaunched: boolean }>} */
  const found = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const exe = readlinkSync(`/proc/${entry}/exe`);
      if (!exe.startsWith(installed)) continue;
      const environ = readFileSync(`/proc/${entry}/environ`).toString();
      found.push({ pid: Number(entry), relaunched: environ.includes("FRONTDESK_RELAUNCHED_AFTER_UPDATE=1") });
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Puts `name` (a manifest the script prepared) in place as the channel's latest.json. */
function publish(/** @type {string} */ name) {
  copyFileSync(join(serveDir, "manifests", name), join(serveDir, "updates", "stable", "latest.json"));
}

/** @type {import("node:child_process").ChildProcess | undefined} */
let driver;
/** @type {{ url: string, stop: () => Promise<void> } | undefined} */
let api;
let driverPort = 0;
const { home, env: deskEnv } = privateHome();

async function startDriver() {
  driverPort = await freeLoopbackPort();
  const nativePort = await freeLoopbackPort();
  const out = (await import("node:fs")).openSync(logFile, "a");
  driver = spawn(
    "tauri-driver",
    ["--port", String(driverPort), "--native-port", String(nativePort), "--native-driver", "/usr/bin/WebKitWebDriver"],
    { env: { ...deskEnv, FRONTDESK_LOG: "info,frontdesk_app=debug" }, stdio: ["ignore", out, out] },
  );
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const up = await fetch(`http://127.0.0.1:${driverPort}/status`).then((r) => r.ok, () => false);
    if (up) return;
    await sleep(200);
  }
  throw new Error("tauri-driver did not start");
}

/** A WebDriver session on the installed desk. */
async function openDesk() {
  assert.ok(api);
  return remote({
    hostname: "127.0.0.1",
    port: driverPort,
    logLevel: "warn",
    capabilities: {
      // @ts-expect-error tauri-driver's own capability, unknown to WebdriverIO's types
      "tauri:options": {
        application: installed,
        args: ["--api-url", api.url, "--update-url", updateUrl, "--update-channel", "stable", "--data-dir", join(home, "desk")],
      },
      "wdio:enforceWebDriverClassic": true,
    },
  });
}

/**
 * @param {WebdriverIO.Browser} win
 * @param {string} selector
 * @param {string} text
 */
async function typeInto(win, selector, text) {
  const field = await win.$(selector);
  await field.waitForExist({ timeout: 60_000 });
  await field.click();
  await field.clearValue();
  // setValue, not keys(): WebKitWebDriver's keys() has been seen to drop "-".
  await field.setValue(text);
  assert.equal(await field.getValue(), text, `typing into ${selector}`);
}

/** @param {WebdriverIO.Browser} win @param {string} name */
const shot = (win, name) => win.saveScreenshot(join(artifactsDir, `updater-${name}.png`));

/** @param {WebdriverIO.Browser} win @param {string} state @param {number} timeout */
async function noticeIn(win, state, timeout) {
  const notice = await win.$(`[data-testid="update-notice"][data-state="${state}"]`);
  await notice.waitForExist({ timeout }).catch(async (error) => {
    await shot(win, `no-${state}`);
    throw error;
  });
  return notice;
}

/** @param {WebdriverIO.Browser} win */
async function checkNow(win) {
  await (await win.$("//nav//button[normalize-space()='Admin']")).click();
  const button = await win.$("//button[normalize-space()='Check now']");
  await button.waitForEnabled({ timeout: 20_000 });
  await button.click();
}

before(async () => {
  assert.ok(process.env.DISPLAY, "run under xvfb-run");
  assert.ok(process.env.DBUS_SESSION_BUS_ADDRESS, "run under dbus-run-session");
  assert.equal(dpkgVersion(), versionN, "Front Desk N is installed from its .deb");
  execFileSync("gnome-keyring-daemon", ["--unlock", "--components=secrets"], { input: "frontdesk-e2e", env: deskEnv });
  api = await startApiServer({ port: await freeLoopbackPort(), database: join(home, "api.db"), patients: 50 });
  await startDriver();
});

after(async () => {
  for (const { pid } of installedDesks()) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // gone
    }
  }
  driver?.kill("SIGTERM");
  await api?.stop();
});

test("an administrator installs N+1 from the desk; it waits for the lock, installs, and the desk starts again as N+1", async () => {
  publish("n1.json");
  const win = await openDesk();
  await typeInto(win, "#sign-in-user", "admin@demo.clinic");
  await typeInto(win, "#sign-in-password", "demo-password");
  await win.keys(["Enter"]);
  await (await win.$('[data-testid="signed-in-user"]')).waitForExist({ timeout: 60_000 });

  // Found by the check the desk makes after start.
  const notice = await noticeIn(win, "available", 90_000);
  const text = await notice.getText();
  assert.match(text, new RegExp(`Update available: ${versionN1.replaceAll(".", "\\.")}`));
  assert.match(text, /Signed test release N\+1/);
  await shot(win, "available");

  await (await notice.$("//button[normalize-space()='Install']")).click();
  // Downloaded and verified, it waits: the administrator is still at the desk.
  const waiting = await noticeIn(win, "waiting", 120_000);
  assert.match(await waiting.getText(), /downloaded and its signature verified/);
  await shot(win, "waiting");
  await sleep(3_000);
  assert.equal(dpkgVersion(), versionN, "nothing is installed while the desk is in use");

  // Locking the desk (Ctrl+L) makes it idle: the update installs and the desk starts again.
  const before = installedDesks().map((d) => d.pid);
  await win.keys(["Control", "l"]);
  const deadline = Date.now() + 180_000;
  while (dpkgVersion() !== versionN1 || !installedDesks().some((d) => d.relaunched && !before.includes(d.pid))) {
    assert.ok(Date.now() < deadline, `N+1 was not installed and started (dpkg: ${dpkgVersion()})`);
    await sleep(500);
  }
  await win.deleteSession().catch(() => {});
  // The desk that started by itself logs the version it is.
  const startLine = new RegExp(`Front Desk starting.*version="?${versionN1.replaceAll(".", "\\.")}"?.*relaunched_after_update=true`);
  const logDeadline = Date.now() + 30_000;
  while (!startLine.test(readFileSync(logFile, "utf8"))) {
    assert.ok(Date.now() < logDeadline, "the relaunched desk did not log its start as N+1");
    await sleep(500);
  }
  // Close it, and open N+1 again under WebDriver to read what it reports.
  for (const { pid } of installedDesks()) process.kill(pid, "SIGTERM");
  while (installedDesks().length > 0) await sleep(200);

  const next = await openDesk();
  // The administrator was signed in and the desk was locked: it starts locked.
  await typeInto(next, "#unlock-secret", "demo-password");
  await next.keys(["Enter"]);
  await (await next.$('[data-testid="signed-in-user"]')).waitForExist({ timeout: 60_000 });
  await (await next.$(`//footer//button[normalize-space()='Front Desk ${versionN1}']`)).click();
  assert.equal(await (await next.$('[data-testid="about-version"]')).getText(), versionN1);
  assert.match(await (await next.$('[data-testid="about-commit"]')).getText(), /^[0-9a-f]{12}$|^unknown$/);
  await shot(next, "about-n1");
  await next.keys(["Escape"]);
  await next.deleteSession().catch(() => {});
  for (const { pid } of installedDesks()) process.kill(pid, "SIGTERM");
  while (installedDesks().length > 0) await sleep(200);
});

test("an altered package and a package signed by another key are refused; N+1 stays installed", async () => {
  const win = await openDesk();
  await typeInto(win, "#unlock-secret", "demo-password");
  await win.keys(["Enter"]);
  await (await win.$('[data-testid="signed-in-user"]')).waitForExist({ timeout: 60_000 });

  for (const [manifest, version, name] of [
    ["tampered.json", env("UPDATE_E2E_TAMPERED"), "tampered"],
    ["other-key.json", env("UPDATE_E2E_OTHER"), "other-key"],
  ]) {
    publish(manifest ?? "");
    await checkNow(win);
    const notice = await noticeIn(win, "available", 60_000);
    assert.match(await notice.getText(), new RegExp(`Update available: ${(version ?? "").replaceAll(".", "\\.")}`));
    await (await notice.$("//button[normalize-space()='Install']")).click();
    const failed = await noticeIn(win, "failed", 120_000);
    const error = await (await failed.$('[data-testid="update-error"]')).getText();
    assert.match(error, /^The update was refused because its signature does not match this desk's update key/, error);
    assert.match(error, /Nothing was installed/);
    await shot(win, `refused-${name}`);
    assert.equal(dpkgVersion(), versionN1, `N+1 is still installed after the ${name} update`);
  }
  await win.deleteSession().catch(() => {});
});

test("an update still waiting when the desk is told to stop installs as it closes", async () => {
  const win = await openDesk();
  await typeInto(win, "#unlock-secret", "demo-password");
  await win.keys(["Enter"]);
  await (await win.$('[data-testid="signed-in-user"]')).waitForExist({ timeout: 60_000 });

  publish("n2.json");
  await checkNow(win);
  const notice = await noticeIn(win, "available", 60_000);
  assert.match(await notice.getText(), new RegExp(`Update available: ${versionN2.replaceAll(".", "\\.")}`));
  await (await notice.$("//button[normalize-space()='Install']")).click();
  await noticeIn(win, "waiting", 120_000);
  await shot(win, "waiting-n2");
  assert.equal(dpkgVersion(), versionN1, "nothing is installed while the desk is in use");

  // The desk is told to stop while the update waits: it closes through the app's exit, and the
  // update goes in on the way out. It does not start again by itself.
  const logBefore = readFileSync(logFile, "utf8").length;
  const desks = installedDesks();
  assert.equal(desks.length, 1, "one installed desk runs");
  for (const { pid } of desks) process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 120_000;
  while (installedDesks().length > 0) {
    assert.ok(Date.now() < deadline, "the desk did not close after SIGTERM");
    await sleep(200);
  }
  await win.deleteSession().catch(() => {});
  assert.equal(dpkgVersion(), versionN2, "N+2 was installed as the desk closed");
  const log = readFileSync(logFile, "utf8").slice(logBefore);
  assert.match(log, /asked to stop: closing the desk/);
  assert.match(log, /installing the waiting update as the desk closes/);
  assert.match(log, /update installed; it starts next time/);
  await sleep(2_000);
  assert.equal(installedDesks().length, 0, "the desk did not start again by itself");
});
