// Shared by both end-to-end suites: where the app binary is, where screenshots go, and how to start
// `frontdesk serve` in a private home directory.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "../../..");

/** The `frontdesk` binary `make test` built (FRONTDESK_BIN), or the default debug build. */
export const frontdeskBin =
  process.env.FRONTDESK_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(repoRoot, "target"), "debug", "frontdesk");

/** Screenshots and logs of the end-to-end runs. */
export const artifactsDir = join(repoRoot, "target", "e2e-artifacts");
mkdirSync(artifactsDir, { recursive: true });

/** A Monday, so the demo shows a full clinic day whatever the calendar says. */
export const DEMO_TODAY = "2026-11-23";

/** Scratch directories this process made, removed when it exits. */
const scratch = new Set();
process.once("exit", () => {
  // FRONTDESK_E2E_KEEP=1 keeps them, to look at a failed run's homes and databases.
  if (process.env.FRONTDESK_E2E_KEEP === "1") return;
  for (const dir of scratch) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // A desk still closing may hold a file; the directory stays, as before.
    }
  }
});

/**
 * A new directory under the system's temporary directory, named `<prefix>XXXXXX`, removed when
 * this test process exits (unless FRONTDESK_E2E_KEEP=1).
 * @param {string} prefix
 */
export function scratchDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.add(dir);
  return dir;
}

/**
 * A fresh HOME with XDG directories, so no user configuration leaks into a test (or `existing`
 * again, for a restart).
 * @param {string | undefined} [existing]
 */
export function privateHome(existing) {
  const home = existing ?? scratchDir("frontdesk-e2e-");
  // The developer's own API address must not reach the demo desk under test.
  const { FRONTDESK_API_URL: _ignored, ...inherited } = process.env;
  return {
    home,
    env: {
      ...inherited,
      HOME: home,
      XDG_CONFIG_HOME: join(home, "config"),
      XDG_DATA_HOME: join(home, "data"),
    },
  };
}

/**
 * Starts `frontdesk serve` (on the embedded demo server unless `demo` is false: then the desk has no
 * API configured, as on a new machine) and resolves with its printed address once it listens.
 * With `keychain` (the default) the desk runs in its own D-Bus session with an unlocked
 * gnome-keyring (Secret Service), as on a desktop; without it there is no keychain at all.
 * @param {string[]} extraArgs
 * With `home`, the desk starts again in that home (its data directory and keyring): a restart.
 * `env` adds variables (e.g. `BROWSER`, the command that opens the system browser).
 * With `busMonitor` (a file path), `dbus-monitor` records the desktop notifications the desk sends on
 * its session bus (org.freedesktop.Notifications) into that file.
 * With `logFile`, the desk's log (its standard error) goes to that file instead of the test's.
 * @param {{ demo?: boolean, keychain?: boolean, home?: string, env?: Record<string, string>, busMonitor?: string, logFile?: string }} options
 * @returns {Promise<{ url: string, origin: string, home: string, stop: () => Promise<unknown> }>}
 */
export function startServe(
  extraArgs = [],
  { demo = true, keychain = true, home: reuse = undefined, env: extraEnv = {}, busMonitor = undefined, logFile = undefined } = {},
) {
  const { home, env: baseEnv } = privateHome(reuse);
  const env = { ...baseEnv, ...extraEnv };
  const demoArgs = demo ? ["--demo", "--demo-today", DEMO_TODAY] : [];
  const deskArgs = ["serve", ...demoArgs, "--port", "0", "--data-dir", join(home, "desk"), ...extraArgs];
  // The keyring's password only unlocks this throwaway session's keyring.
  const [command, args] = keychain
    ? [
        "dbus-run-session",
        [
          "--",
          "bash",
          "-c",
          // The daemon that `--unlock` starts sometimes loses the race to register on the bus and
          // D-Bus activation starts another, without the password: the desk would then meet a
          // locked keyring ("prompt dismissed"). So wait until the default collection answers
          // unlocked, unlocking again (replacing the daemon) if it does not.
          'unlock() { printf frontdesk-e2e | gnome-keyring-daemon --replace --unlock --components=secrets >/dev/null 2>&1; }; ' +
            'unlocked() { dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets/aliases/default ' +
            'org.freedesktop.DBus.Properties.Get string:org.freedesktop.Secret.Collection string:Locked 2>/dev/null | grep -q "boolean false"; }; ' +
            'unlock; for i in $(seq 1 100); do unlocked && break; [ $((i % 25)) -eq 0 ] && unlock; sleep 0.1; done; ' +
            (busMonitor
              ? `dbus-monitor --session "interface='org.freedesktop.Notifications',member='Notify'" > '${busMonitor}' 2>&1 & sleep 0.3; `
              : "") +
            'exec "$@"',
          "frontdesk-e2e",
          frontdeskBin,
          ...deskArgs,
        ],
      ]
    : [frontdeskBin, deskArgs];
  /** @type {Record<string, string | undefined>} */
  const envWithoutBus = { ...env };
  delete envWithoutBus.DBUS_SESSION_BUS_ADDRESS;
  // A process group of its own, so stopping it also stops its D-Bus session and keyring.
  const child = spawn(command, args, {
    env: keychain ? env : envWithoutBus,
    stdio: ["ignore", "pipe", logFile ? openSync(logFile, "a") : "inherit"],
    detached: true,
  });
  const exited = new Promise((resolveExit) => child.once("exit", () => resolveExit(undefined)));
  const stop = () => {
    try {
      if (child.pid) process.kill(-child.pid, "SIGTERM");
    } catch {
      // Already gone.
    }
    return exited;
  };
  return new Promise((resolvePromise, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`frontdesk serve printed no address: ${seen}`)), 30_000);
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`frontdesk serve exited with ${code}: ${seen}`)));
    child.stdout?.on("data", (chunk) => {
      seen += chunk.toString();
      const match = seen.match(/http:\/\/127\.0\.0\.1:\d+\/\?key=[0-9a-f]+/);
      if (match) {
        clearTimeout(timer);
        const url = match[0];
        resolvePromise({ url, origin: url.split("/?")[0] ?? url, home, stop });
      }
    });
  });
}

/** The Practice Studio server binary built beside the desk (`cargo test --workspace` builds it). */
export const serverBin = process.env.PRACTICE_STUDIO_BIN ?? join(dirname(frontdeskBin), "practice-studio-server");

/** A free loopback port. @returns {Promise<number>} */
export function freeLoopbackPort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts the Practice Studio server on its own, file-backed (so it can be stopped and started again
 * with its data), with demo data, and resolves once /health answers.
 * `today` is the server's today (the demo's Monday unless given: a desk without `--demo` keeps the
 * machine's date, and a payment it dates later than the server's today is refused).
 * @param {{ port: number, database: string, patients?: number, today?: string }} options
 * @returns {Promise<{ url: string, stop: () => Promise<void> }>}
 */
export async function startApiServer({ port, database, patients = 300, today = DEMO_TODAY }) {
  const child = spawn(
    serverBin,
    [
      "--bind", `127.0.0.1:${port}`, "--database", database, "--demo",
      "--demo-patients", String(patients), "--demo-today", today,
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    const healthy = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (healthy) break;
    if (Date.now() > deadline) throw new Error("the server did not answer /health within a minute");
    await new Promise((r) => setTimeout(r, 250));
  }
  const stop = () =>
    new Promise((resolveStop) => {
      if (child.exitCode !== null) return resolveStop(undefined);
      child.once("exit", () => resolveStop(undefined));
      child.kill("SIGTERM");
    });
  return { url, stop };
}

/**
 * A chart's record that has an attachment, by its title, in the Records tab: a patient can have
 * several records of one title, and only this one offers the PDF.
 * @param {import("@playwright/test").Page} page
 * @param {string} title
 */
export function recordWithAttachment(page, title) {
  const escaped = title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return page
    .getByRole("list", { name: "Records" })
    .getByRole("button", { name: new RegExp(`^${escaped} .*\\d+ attachments?$`) })
    .first();
}
