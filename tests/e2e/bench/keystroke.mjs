// `make bench`: keystroke_to_results_ms — in browser mode, with 100,000 patients in the desk's
// cache, the time from a key pressed in the search box until the results for the text typed so
// far are painted. p50 and p99 over every keystroke of 60 queries typed a character at a time
// (names, typos, phones, dates of birth, MRNs).
//
// A Practice Studio server with 100,000 demo patients runs on loopback (the desk's client is not
// rate-limited, so the first sync is not what is measured); the desk (`frontdesk serve`, the
// binary in FRONTDESK_BIN) signs in as reception and fills its cache; Debian's Chromium types.
// The clock runs in the page: a key's `keydown` (capture phase, before React sees it) starts it;
// it stops once the first frame after the desk's answer for exactly that text has been painted (a
// timeout queued from that frame's animation callback runs after its paint). One key at a time: the next key is
// pressed only once the previous one's results are on screen, so each is measured in full.
//
// Prints JSON lines on stdout; progress on stderr.
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "@playwright/test";
import { freeLoopbackPort, serverBin, startServe } from "../support/desk.mjs";

const PATIENTS = Number(process.env.FRONTDESK_BENCH_PATIENTS ?? 100_000);
const QUERIES = 60;
const log = (message) => process.stderr.write(`bench: ${message}\n`);

function figure(name, value, unit) {
  console.log(JSON.stringify({ name, value: Math.round(value * 1000) / 1000, unit }));
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * p))];
}

/** Starts the API server with the demo data on a free port; resolves once it answers. */
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
      String(PATIENTS),
      "--demo-today",
      "2026-11-23",
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
    if (Date.now() - started > 600_000) throw new Error("the server did not start in 10 minutes");
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

/** What a receptionist types: taken from cached patients so every query finds someone. */
function queriesFrom(patients) {
  const typo = (word) => (word.length >= 4 ? word[0] + word[2] + word[1] + word.slice(3) : word);
  const out = [];
  for (let i = 0; out.length < QUERIES && i < patients.length; i++) {
    const p = patients[i];
    const digits = (p.phone ?? "").replace(/\D/g, "");
    const [y, m, d] = p.dateOfBirth.split("-");
    switch (i % 6) {
      case 0:
        out.push(`${p.lastName} ${p.firstName}`);
        break;
      case 1:
        out.push(`${typo(p.firstName)} ${typo(p.lastName)}`);
        break;
      case 2:
        out.push(digits.length >= 7 ? digits.slice(-7) : p.lastName);
        break;
      case 3:
        out.push(`${m}/${d}/${y}`);
        break;
      case 4:
        out.push(p.mrn);
        break;
      default:
        out.push(`${p.firstName} ${p.lastName.slice(0, 3)}`);
    }
  }
  return out;
}

// Runs in the page before the desk's own code: the keydown stamp and the answers' arrival.
function instrument() {
  const state = { down: 0, answered: new Map() };
  // @ts-ignore: the bench's own global.
  window.__keystroke = state;
  document.addEventListener(
    "keydown",
    () => {
      state.down = performance.now();
      // An earlier answer for the same text must not stop this key's clock.
      state.answered.clear();
    },
    true,
  );
  const original = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const response = await original(input, init);
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (url.includes("/api/commands/search_patients") && typeof init?.body === "string") {
      const query = JSON.parse(init.body).query;
      // The answer is read by the desk from a clone; the bench only needs to know it arrived.
      response
        .clone()
        .arrayBuffer()
        .then(() => state.answered.set(query, performance.now()));
    }
    return response;
  };
}

const dir = mkdtempSync(join(tmpdir(), "frontdesk-bench-"));
let server;
let desk;
let browser;
try {
  log(`starting the server with ${PATIENTS} demo patients`);
  server = await startServer(dir);
  desk = await startServe(["--api-url", server.url], { demo: false, logFile: join(dir, "desk.log") });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.addInitScript(instrument);
  await page.goto(desk.url);
  await page.getByLabel("User name").fill("reception@demo.clinic");
  await page.getByLabel("Password").fill("demo-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByTestId("signed-in-user").waitFor();
  log("signed in; waiting for the first sync");
  const syncStarted = Date.now();
  for (;;) {
    const view = await (await page.request.post(`${desk.origin}/api/commands/sync_status`, { data: {} })).json();
    if (view?.status?.firstSyncDone) break;
    if (Date.now() - syncStarted > 1_200_000) throw new Error("the first sync did not finish in 20 minutes");
    await new Promise((r) => setTimeout(r, 1000));
  }
  log(`first sync done in ${Math.round((Date.now() - syncStarted) / 1000)} s`);

  const sample = [];
  const seeds = ["smith", "john", "gar", "lee", "mar", "ann", "rob", "kim", "nguy", "wil", "dav", "tho", "har", "mil", "bro", "jon"];
  for (const seed of seeds) {
    const found = await (
      await page.request.post(`${desk.origin}/api/commands/search_patients`, { data: { query: seed } })
    ).json();
    sample.push(...found.slice(0, 8));
  }
  const queries = queriesFrom(sample);
  if (queries.length < QUERIES) throw new Error(`only ${queries.length} queries could be made`);

  const search = page.getByRole("combobox", { name: "Search patients" });
  const times = [];
  for (const query of queries) {
    await search.fill("");
    await search.focus();
    for (let i = 0; i < query.length; i++) {
      await page.keyboard.type(query[i]);
      const typed = query.slice(0, i + 1).trim();
      if (typed === query.slice(0, i).trim()) continue; // A space changes nothing asked.
      const elapsed = await page.evaluate(
        (text) =>
          new Promise((resolve, reject) => {
            // @ts-ignore: set by instrument().
            const state = window.__keystroke;
            const started = performance.now();
            const look = () => {
              if (state.answered.has(text)) {
                // The frame after the answer: React has committed it; the timeout runs once that
                // frame is painted.
                requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - state.down), 0));
              } else if (performance.now() - started > 10_000) {
                reject(new Error(`no answer for "${text}"`));
              } else {
                setTimeout(look, 0);
              }
            };
            look();
          }),
        typed,
      );
      times.push(elapsed);
    }
  }
  times.sort((a, b) => a - b);
  log(`${times.length} keystrokes measured`);
  figure("keystroke_to_results_p50_ms", percentile(times, 0.5), "ms");
  figure("keystroke_to_results_ms", percentile(times, 0.99), "ms");
} finally {
  await browser?.close();
  await desk?.stop();
  server?.stop();
  rmSync(dir, { recursive: true, force: true });
}
