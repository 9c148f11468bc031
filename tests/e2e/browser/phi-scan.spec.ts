// After a session at the desk (sign in, search, charts, a record and its PDF attachment, an
// invoice and its PDF, a payment and its receipt), nothing outside the encrypted databases holds a
// token or a demo patient's name: not the desk's data directory, not its XDG config and cache
// directories, not the files it made in its own TMPDIR, not its log, not the browser's profile.
// The keyring (the OS keychain, encrypted by gnome-keyring) and the demo server's own database
// (the remote system) are not the desk's to keep clean and are left out.
import { chromium, expect, type Page, test } from "@playwright/test";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { artifactsDir, recordWithAttachment, startServe, scratchDir } from "../support/desk.mjs";

const ENCRYPTED = /^(cache|audit)\.db(-wal|-shm|-journal)?$/;

function filesUnder(dir: string): string[] {
  let out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = join(dir, name);
    const info = statSync(path, { throwIfNoEntry: false });
    if (!info) continue;
    if (info.isDirectory()) out = out.concat(filesUnder(path));
    else if (info.isFile()) out.push(path);
  }
  return out;
}

test("a full session leaves no token and no patient name outside the encrypted databases", async () => {
  test.setTimeout(300_000);
  const root = scratchDir("frontdesk-scan-");
  const deskTmp = join(root, "tmp");
  const profile = join(root, "browser-profile");
  const log = join(root, "desk.log");
  mkdirSync(deskTmp, { recursive: true });
  const desk = await startServe([], { env: { TMPDIR: deskTmp }, logFile: log });
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    viewport: { width: 1366, height: 768 },
    acceptDownloads: false,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const seenNames = new Set<string>();
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    const ask = async <T,>(command: string, data: object): Promise<T> => {
      const response = await page.request.post(`${desk.origin}/api/commands/${command}`, { data });
      expect(response.ok(), command).toBe(true);
      return (await response.json()) as T;
    };
    const signIn = async (user: string, role: string) => {
      await page.goto(desk.url);
      const signedIn = page.getByTestId("signed-in-user");
      await expect(signedIn.or(page.getByRole("heading", { name: "Sign in to Front Desk" }))).toBeVisible();
      if (await signedIn.isVisible()) await page.getByRole("button", { name: "Switch user" }).click();
      await page.getByLabel("User name").fill(user);
      await page.getByLabel("Password").fill("demo-password");
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await expect(signedIn).toContainText(role);
    };
    type Hit = { id: string; firstName: string; lastName: string };
    const openChart = async (p: Page, patient: Hit) => {
      await p.keyboard.press("Control+K");
      const search = p.getByRole("combobox", { name: "Search patients" });
      await search.fill("");
      await search.pressSequentially(patient.id);
      await p.getByRole("option", { name: new RegExp(`${patient.lastName}, ${patient.firstName}`) }).first().click();
      await expect(p.getByRole("heading", { level: 1, name: `${patient.firstName} ${patient.lastName}` })).toBeVisible();
      seenNames.add(`${patient.firstName} ${patient.lastName}`);
    };

    await signIn("clinician@demo.clinic", "Clinician");
    type Rec = { id: string; title: string; attachments: number };
    let withRecord: { patient: Hit; record: Rec } | undefined;
    await expect(async () => {
      const hits = await ask<Hit[]>("search_patients", { query: "a" });
      for (const hit of hits.slice(0, 8)) seenNames.add(`${hit.firstName} ${hit.lastName}`);
      for (const patient of hits) {
        const record = (await ask<Rec[]>("patient_records", { patientId: patient.id })).find((r) => r.attachments > 0);
        if (record) {
          withRecord = { patient, record };
          return;
        }
      }
      throw new Error("no record with an attachment yet");
    }).toPass({ timeout: 90_000 });
    if (!withRecord) throw new Error("no record");
    await openChart(page, withRecord.patient);
    await page.getByRole("tab", { name: "Records" }).click();
    await recordWithAttachment(page, withRecord.record.title).click();
    await page.getByRole("button", { name: /^Open .+\.pdf$/ }).first().click({ timeout: 20_000 });
    await expect(page.getByRole("img", { name: /^Page 1 of \d+$/ })).toBeVisible({ timeout: 20_000 });
    await page.getByRole("button", { name: "Close" }).click();

    await signIn("billing@demo.clinic", "Billing");
    await page.getByRole("navigation", { name: "Sections" }).getByRole("button", { name: "Billing" }).click();
    const rows = page.getByRole("table", { name: "Overdue invoices, most overdue first" }).getByRole("row");
    await expect(rows.nth(1)).toBeVisible({ timeout: 30_000 });
    const invoiceId = (await rows.nth(1).getByRole("cell").nth(1).textContent()) ?? "";
    seenNames.add(((await rows.nth(1).getByRole("cell").first().textContent()) ?? "").trim());
    await rows.nth(1).getByRole("button").click();
    await page.getByRole("tab", { name: "Invoices" }).click();
    await page.getByRole("button", { name: invoiceId, exact: true }).click();
    await page.getByRole("button", { name: "View PDF" }).click();
    await expect(page.getByRole("img", { name: /^Page 1 of \d+$/ })).toBeVisible({ timeout: 20_000 });
    await page.getByRole("button", { name: "Close" }).click();
    const form = page.getByRole("form", { name: "Take a payment" });
    await form.getByLabel("Method").selectOption("Cash");
    await form.getByLabel("Amount (USD)").fill("1.00");
    await form.getByRole("button", { name: "Take payment" }).click();
    await form.getByRole("button", { name: "Print or save the receipt" }).click();
    await expect(page.getByRole("img", { name: "Page 1 of 1" })).toBeVisible({ timeout: 20_000 });
    await page.getByRole("button", { name: "Close" }).click();
    await expect(page.getByTestId("pending-count")).toHaveText("0 pending", { timeout: 60_000 });
  } finally {
    await browser.close();
    await desk.stop();
  }

  const names = [...seenNames].filter((n) => n.length > 3);
  expect(names.length).toBeGreaterThan(3);
  const token = /ps_(at|rt)_[A-Za-z0-9_-]{8,}/;
  const scanned = [
    ...filesUnder(desk.home).filter((f) => !ENCRYPTED.test(f.split("/").pop() ?? "")),
    ...filesUnder(deskTmp),
    ...filesUnder(profile),
    log,
  ]
    .filter((f) => !relative(desk.home, f).startsWith("data/keyrings"))
    // The embedded demo server's database stands for the remote system (and leaves with it).
    .filter((f) => !/\/practice-studio-[^/]+\/practice-studio\.db/.test(f));
  expect(scanned.length).toBeGreaterThan(10);
  const findings: string[] = [];
  for (const file of scanned) {
    const raw = statSync(file, { throwIfNoEntry: false }) ? readFileSync(file) : Buffer.alloc(0);
    const text = raw.toString("latin1");
    const utf16 = raw.toString("utf16le");
    if (token.test(text)) findings.push(`${file}: a token`);
    for (const name of names) {
      if (text.includes(name) || utf16.includes(name)) findings.push(`${file}: ${name}`);
    }
  }
  // The desk's log is kept with the artifacts, to read if this ever fails.
  copyFileSync(log, join(artifactsDir, "phi-scan-desk.log"));
  expect(findings).toEqual([]);
});
