// The real window: `frontdesk --demo` under Xvfb, driven through tauri-driver and WebKitWebDriver
// (WebDriver classic). Run by `make test` inside xvfb-run and dbus-run-session.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { remote } from "webdriverio";
import { artifactsDir, DEMO_TODAY, frontdeskBin, privateHome } from "../support/desk.mjs";

/** @returns {Promise<number>} a port free at the time of asking */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** @param {number} port */
async function waitForDriver(port) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/status`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("tauri-driver did not start");
}

/** @type {import("node:child_process").ChildProcess | undefined} */
let driver;
/** @type {WebdriverIO.Browser | undefined} */
let browser;

before(async () => {
  assert.ok(process.env.DISPLAY, "run under xvfb-run (make test does)");
  assert.ok(process.env.DBUS_SESSION_BUS_ADDRESS, "run under dbus-run-session (make test does)");
  const { home, env } = privateHome();
  // The desk keeps its tokens in the Secret Service: a new, unlocked keyring on this private bus,
  // kept under the private home (the user's own keyrings have another password).
  execFileSync("gnome-keyring-daemon", ["--unlock", "--components=secrets"], { input: "frontdesk-e2e", env });
  const port = await freePort();
  const nativePort = await freePort();
  driver = spawn(
    "tauri-driver",
    ["--port", String(port), "--native-port", String(nativePort), "--native-driver", "/usr/bin/WebKitWebDriver"],
    { env, stdio: ["ignore", "inherit", "inherit"] },
  );
  await waitForDriver(port);
  browser = await remote({
    hostname: "127.0.0.1",
    port,
    logLevel: "warn",
    capabilities: {
      // @ts-expect-error tauri-driver's own capability, unknown to WebdriverIO's types
      "tauri:options": {
        application: frontdeskBin,
        args: ["--demo", "--demo-today", DEMO_TODAY, "--data-dir", join(home, "desk")],
      },
      "wdio:enforceWebDriverClassic": true,
    },
  });
});

after(async () => {
  await browser?.deleteSession().catch(() => {});
  driver?.kill("SIGTERM");
});

test("the window shows the app version and that it is connected to the demo server", async () => {
  assert.ok(browser);
  const status = await browser.$('[data-testid="connection-status"]');
  await status.waitForExist({ timeout: 60_000 });
  await browser.waitUntil(async () => (await status.getText()) === "Connected to demo server", {
    timeout: 30_000,
    timeoutMsg: "the window never said it was connected to the demo server",
  });
  const version = await browser.$('[data-testid="app-version"]').getText();
  assert.match(version, /^Front Desk \d+\.\d+\.\d+/);
  const heading = await browser.$("h1").getText();
  assert.equal(heading, "Sign in to Front Desk");
  assert.match(await browser.$("main").getText(), /Monday, November 23, 2026/);
  await browser.saveScreenshot(join(artifactsDir, "window-start.png"));
  assert.match(await browser.$("main").getText(), /Running in\s*Desktop window/);
});

test("in the window a receptionist signs in, finds a patient despite a typo and opens the chart", async () => {
  const win = browser;
  assert.ok(win);
  /**
   * Types into a field until it holds `text` (WebKitWebDriver can drop a key typed right after a click).
   * @param {string} selector
   * @param {string} text
   */
  const typeInto = async (selector, text) => {
    const field = await win.$(selector);
    await field.click();
    await win.pause(100);
    await win.keys([...text]);
    if ((await field.getValue()) === text) return;
    // WebKitWebDriver's keys() has been seen to drop "-": fall back to the element's own send-keys.
    await field.clearValue();
    await field.setValue(text);
    const seen = await field.getValue();
    assert.equal(seen, text, `typing into ${selector}`);
  };
  await typeInto("#sign-in-user", "reception@demo.clinic");
  await typeInto("#sign-in-password", "demo-password");
  await win.keys(["Enter"]);
  const user = await win.$('[data-testid="signed-in-user"]');
  await user.waitForExist({ timeout: 30_000 }).catch(async (error) => {
    await win.saveScreenshot(join(artifactsDir, "window-sign-in-failed.png"));
    throw error;
  });
  assert.match(await user.getText(), /Reception/);
  await win.waitUntil(async () => /^synced /.test(await (await win.$('[data-testid="last-sync"]')).getText()), {
    timeout: 120_000,
    timeoutMsg: "the first sync never completed",
  });
  await (await win.$('[role="combobox"]')).click();
  await win.keys([..."smiht"]);
  const option = await win.$('[role="option"]');
  await option.waitForDisplayed({ timeout: 10_000 });
  assert.match(await option.getText(), /Smith/);
  await win.saveScreenshot(join(artifactsDir, "window-search.png"));
  await win.keys(["Enter"]);
  const tabs = await win.$('[role="tablist"]');
  await tabs.waitForExist({ timeout: 10_000 });
  assert.match(await win.$("h1").getText(), /Smith$/);
  await win.saveScreenshot(join(artifactsDir, "window-chart.png"));

  // Ctrl+L locks the window: the chart goes, only the user and an unlock field remain.
  await win.keys(["Control", "l"]);
  const unlock = await win.$("#unlock-secret");
  await unlock.waitForExist({ timeout: 10_000 });
  assert.equal(await win.$$('[role="tablist"]').length, 0, "no chart behind the lock screen");
  assert.match(await win.$("h1").getText(), /Reception/);
  await win.saveScreenshot(join(artifactsDir, "window-lock.png"));
  await typeInto("#unlock-secret", "demo-password");
  await win.keys(["Enter"]);
  await (await win.$('[data-testid="signed-in-user"]')).waitForExist({ timeout: 10_000 });
});

test("in the window the receptionist opens the day view, books with the keyboard and sees it in the grid", async () => {
  const win = browser;
  assert.ok(win);
  const nav = await win.$("//nav//button[normalize-space()='Book']");
  await nav.waitForExist({ timeout: 10_000 });
  await nav.click();
  const title = await win.$("#book-title");
  await title.waitForExist({ timeout: 10_000 });
  assert.equal(await title.getText(), "Monday, November 23, 2026");
  await win.waitUntil(async () => (await win.$$(".book-col").length) > 0, {
    timeout: 20_000,
    timeoutMsg: "the day view showed no provider",
  });
  await win.saveScreenshot(join(artifactsDir, "window-book-day.png"));

  // B opens the form on the patient; Enter takes the first match; Alt+F finds the next free slot
  // and focuses it; Enter takes it and focuses "Book appointment"; Enter books.
  await (await win.$("body")).click();
  await win.keys(["b"]);
  const patient = await win.$('dialog [role="combobox"]');
  await patient.waitForExist({ timeout: 10_000 });
  await win.pause(200);
  await win.keys([..."johnson"]);
  const option = await win.$('dialog [role="option"]');
  await option.waitForDisplayed({ timeout: 10_000 });
  const name = (await (await option.$("span")).getText()).trim();
  await win.keys(["Enter"]);
  await win.pause(200);
  await win.keys(["Alt", "f"]);
  await win.keys(["Alt"]);
  const slot = await win.$('dialog ul[aria-label="Free slots"] button');
  await slot.waitForDisplayed({ timeout: 10_000 });
  const time = /(\d\d:\d\d)/.exec(await slot.getText())?.[1] ?? "";
  await win.waitUntil(async () => (await win.execute(() => document.activeElement?.closest("ul")?.getAttribute("aria-label"))) === "Free slots", {
    timeout: 5_000,
    timeoutMsg: "the first free slot was not focused",
  });
  await win.keys(["Enter"]);
  await win.waitUntil(async () => (await win.execute(() => document.activeElement?.textContent ?? "")) === "Book appointment", {
    timeout: 5_000,
    timeoutMsg: "the booking button was not focused after taking the slot",
  });
  await win.keys(["Enter"]);
  await win.waitUntil(async () => (await win.$$("dialog[open]").length) === 0, { timeout: 10_000 });
  const booked = await win.$(`button[aria-label^="${time}–"][aria-label*="${name}"]`);
  await booked.waitForExist({ timeout: 10_000 });
  await win.saveScreenshot(join(artifactsDir, "window-book-booked.png"));
});

test("in the window the receptionist opens an invoice's PDF and a payment's receipt inside the desk", async () => {
  const win = browser;
  assert.ok(win);
  await (await win.$("body")).click();
  await win.keys(["Escape"]);
  // A patient who owes something, asked of the desk through the window's own command entry point.
  const owingId = /** @type {string} */ (
    await win.executeAsync((done) => {
      /** @type {any} */
      const tauri = /** @type {any} */ (window).__TAURI_INTERNALS__;
      /** @param {string} command @param {object} args */
      const run = (command, args) => tauri.invoke("run_command", { command, args });
      (async () => {
        for (const p of await run("search_patients", { query: "a" })) {
          const invoices = await run("patient_invoices", { patientId: p.id });
          const owed = invoices.find((/** @type {{ balance: number }} */ i) => i.balance >= 5);
          if (owed) return `${p.id}|${p.lastName}, ${p.firstName}|${owed.id}`;
        }
        return "";
      })().then(done, () => done(""));
    })
  );
  assert.ok(owingId, "a demo patient owes something");
  const [id, listed, invoiceId] = owingId.split("|");
  await win.keys(["Control", "k"]);
  await win.pause(200);
  // setValue, not keys(): WebKitWebDriver's keys() has been seen to drop "-".
  await (await win.$('header [role="combobox"]')).setValue(id ?? "");
  // By id and name: the demo has namesakes, and the invoice belongs to this one.
  const option = await win.$(`//*[@role='option'][contains(normalize-space(), "${listed}")]`);
  await option.waitForDisplayed({ timeout: 10_000 });
  await option.click();
  const invoicesTab = await win.$("//button[@role='tab' and normalize-space()='Invoices']");
  await invoicesTab.waitForExist({ timeout: 10_000 });
  await invoicesTab.click();
  // The invoice with something left to pay, so the payment form shows too.
  const owing = await win.$(`//table//tbody/tr//button[normalize-space()='${invoiceId}']`);
  await owing.waitForExist({ timeout: 20_000 }).catch(async (error) => {
    await win.saveScreenshot(join(artifactsDir, "window-invoices-failed.png"));
    throw error;
  });
  await owing.click();
  const viewPdf = await win.$("//button[normalize-space()='View PDF']");
  await viewPdf.waitForExist({ timeout: 20_000 });
  await viewPdf.click();
  const page = await win.$('canvas[aria-label^="Page 1 of"]');
  await page.waitForExist({ timeout: 30_000 }).catch(async (error) => {
    await win.saveScreenshot(join(artifactsDir, "window-invoice-pdf-failed.png"));
    throw error;
  });
  // pdf.js drew the invoice: the canvas has ink on it.
  await win.waitUntil(
    async () =>
      /** @type {number} */ (
        await win.execute(() => {
          const canvas = /** @type {HTMLCanvasElement | null} */ (document.querySelector('canvas[aria-label^="Page 1 of"]'));
          const data = canvas?.getContext("2d")?.getImageData(0, 0, canvas.width, canvas.height).data;
          let dark = 0;
          if (data) for (let i = 0; i < data.length; i += 4) if ((data[i] ?? 255) < 128) dark++;
          return dark;
        })
      ) > 100,
    { timeout: 20_000, timeoutMsg: "the invoice's PDF was not drawn" },
  );
  await win.saveScreenshot(join(artifactsDir, "window-invoice-pdf.png"));
  await (await win.$("//dialog//button[normalize-space()='Close']")).click();
  await win.waitUntil(async () => (await win.$$("dialog[open]").length) === 0, { timeout: 10_000 });

  await (await win.$('select[id^="pay-method-"]')).selectByVisibleText("Cash");
  const amount = await win.$('input[id^="pay-amount-"]');
  await amount.setValue("1.00");
  await (await win.$("//button[normalize-space()='Take payment']")).click();
  const receipt = await win.$("//button[normalize-space()='Print or save the receipt']");
  await receipt.waitForExist({ timeout: 20_000 });
  await receipt.click();
  await (await win.$('canvas[aria-label="Page 1 of 1"]')).waitForExist({ timeout: 30_000 });
  await win.saveScreenshot(join(artifactsDir, "window-receipt.png"));
  await (await win.$("//dialog//button[normalize-space()='Close']")).click();
});

test("in the window the payment reaches the server, then a clinician takes the desk and reads a record's PDF", async () => {
  const win = browser;
  assert.ok(win);
  // The payment taken above went out through the outbox and the server accepted it.
  await win.waitUntil(async () => (await (await win.$('[data-testid="pending-count"]')).getText()) === "0 pending", {
    timeout: 60_000,
    timeoutMsg: "the payment taken in the window never reached the server",
  });

  // Shift change: the clinician signs in on the same desk.
  await (await win.$("//header//button[normalize-space()='Switch user']")).click();
  const user = await win.$("#sign-in-user");
  await user.waitForExist({ timeout: 20_000 });
  for (const [selector, text] of [
    ["#sign-in-user", "clinician@demo.clinic"],
    ["#sign-in-password", "demo-password"],
  ]) {
    const field = await win.$(selector);
    await field.click();
    await field.clearValue();
    // setValue, not keys(): WebKitWebDriver's keys() has been seen to drop "-".
    await field.setValue(text);
    assert.equal(await field.getValue(), text, `typing into ${selector}`);
  }
  await win.keys(["Enter"]);
  const signedIn = await win.$('[data-testid="signed-in-user"]');
  await signedIn.waitForExist({ timeout: 30_000 }).catch(async (error) => {
    await win.saveScreenshot(join(artifactsDir, "window-clinician-sign-in-failed.png"));
    throw error;
  });
  await win.waitUntil(async () => /Clinician/.test(await signedIn.getText()), {
    timeout: 20_000,
    timeoutMsg: "the clinician is not the one signed in",
  });

  // A patient with a record that has a PDF attachment, asked of the desk's own command entry point.
  const found = /** @type {string} */ (
    await win.executeAsync((done) => {
      /** @type {any} */
      const tauri = /** @type {any} */ (window).__TAURI_INTERNALS__;
      /** @param {string} command @param {object} args */
      const run = (command, args) => tauri.invoke("run_command", { command, args });
      (async () => {
        for (const p of await run("search_patients", { query: "a" })) {
          const records = await run("patient_records", { patientId: p.id });
          const withPdf = records.find((/** @type {{ attachments: number }} */ r) => r.attachments > 0);
          if (withPdf) return `${p.id}|${p.lastName}, ${p.firstName}|${withPdf.title}`;
        }
        return "";
      })().then(done, () => done(""));
    })
  );
  assert.ok(found, "a demo patient has a record with an attachment");
  const [id, listed, title] = found.split("|");
  await win.keys(["Control", "k"]);
  await win.pause(200);
  await (await win.$('header [role="combobox"]')).setValue(id ?? "");
  const option = await win.$(`//*[@role='option'][contains(normalize-space(), "${listed}")]`);
  await option.waitForDisplayed({ timeout: 10_000 });
  await option.click();
  const recordsTab = await win.$("//button[@role='tab' and normalize-space()='Records']");
  await recordsTab.waitForExist({ timeout: 10_000 });
  await recordsTab.click();
  const record = await win.$(
    `//ul[@aria-label='Records']//button[.//span[normalize-space()="${title}"]][contains(., 'attachment')]`,
  );
  await record.waitForExist({ timeout: 20_000 }).catch(async (error) => {
    await win.saveScreenshot(join(artifactsDir, "window-records-failed.png"));
    throw error;
  });
  await record.click();
  const open = await win.$("//section//button[starts-with(normalize-space(), 'Open ') and contains(., '.pdf')]");
  await open.waitForExist({ timeout: 20_000 });
  await win.saveScreenshot(join(artifactsDir, "window-record.png"));
  await open.click();
  await (await win.$('canvas[aria-label^="Page 1 of"]')).waitForExist({ timeout: 30_000 }).catch(async (error) => {
    await win.saveScreenshot(join(artifactsDir, "window-attachment-failed.png"));
    throw error;
  });
  // pdf.js drew the attachment in the window: the canvas has ink on it.
  await win.waitUntil(
    async () =>
      /** @type {number} */ (
        await win.execute(() => {
          const canvas = /** @type {HTMLCanvasElement | null} */ (document.querySelector('canvas[aria-label^="Page 1 of"]'));
          const data = canvas?.getContext("2d")?.getImageData(0, 0, canvas.width, canvas.height).data;
          let dark = 0;
          if (data) for (let i = 0; i < data.length; i += 4) if ((data[i] ?? 255) < 128) dark++;
          return dark;
        })
      ) > 100,
    { timeout: 20_000, timeoutMsg: "the attachment's PDF was not drawn" },
  );
  await win.saveScreenshot(join(artifactsDir, "window-attachment-pdf.png"));
  await (await win.$("//dialog//button[normalize-space()='Close']")).click();
  await win.waitUntil(async () => (await win.$$("dialog[open]").length) === 0, { timeout: 10_000 });
});
