// Documents, billing and the administrator's tools in browser mode (issue 9): a clinician reads a
// record's PDF attachment inside the desk, saves and prints it; billing views an invoice's PDF,
// works the overdue list, and gets a provisional receipt for a payment taken offline, then the
// server's once it is confirmed; a change left behind at sign-out waits on the conflicts screen
// until an administrator sends it again; the audit log shows every opening, filtered and as CSV.
import AxeBuilder from "@axe-core/playwright";
import { expect, type Page, test } from "@playwright/test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { artifactsDir, recordWithAttachment, freeLoopbackPort, startApiServer, startServe, scratchDir } from "../support/desk.mjs";

type Desk = Awaited<ReturnType<typeof startServe>>;

test.describe.configure({ mode: "serial", timeout: 240_000 });

let api: Awaited<ReturnType<typeof startApiServer>>;
let port: number;
let database: string;
let desk: Desk;
// The desk runs without --demo, on the machine's date: the server's today must be the same, or a
// payment taken today would be dated in the server's future.
const today = new Date().toISOString().slice(0, 10);

test.beforeAll(async () => {
  port = await freeLoopbackPort();
  database = join(scratchDir("frontdesk-api-"), "practice-studio.db");
  api = await startApiServer({ port, database, today });
  desk = await startServe(["--api-url", api.url], { demo: false });
});
test.afterAll(async () => {
  await desk?.stop();
  await api?.stop();
});

async function signInAs(page: Page, user: string, role: string) {
  await page.goto(desk.url);
  const signedIn = page.getByTestId("signed-in-user");
  await expect(signedIn.or(page.getByRole("heading", { name: "Sign in to Front Desk" }))).toBeVisible();
  if (await signedIn.isVisible()) await page.getByRole("button", { name: "Switch user" }).click();
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill("demo-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(signedIn).toContainText(role);
}

/** Asks the desk's own command route (the page's cookie carries this launch's key). */
async function ask<T>(page: Page, command: string, data: object): Promise<T> {
  const response = await page.request.post(`${desk.origin}/api/commands/${command}`, { data });
  expect(response.ok(), `${command}: ${await response.text()}`).toBe(true);
  return (await response.json()) as T;
}

type Hit = { id: string; firstName: string; lastName: string };

async function openChartById(page: Page, patient: Hit) {
  await page.keyboard.press("Control+K");
  const search = page.getByRole("combobox", { name: "Search patients" });
  await search.fill("");
  await search.pressSequentially(patient.id);
  await page.getByRole("option", { name: new RegExp(`${patient.lastName}, ${patient.firstName}`) }).first().click();
  await expect(page.getByRole("heading", { level: 1, name: `${patient.firstName} ${patient.lastName}` })).toBeVisible();
}

async function noSeriousAxeViolations(page: Page) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21aa"]).analyze();
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}

function pdfText(bytes: Buffer): string {
  return bytes.toString("latin1");
}

test("a clinician opens a record's PDF attachment inside the desk, saves it and prints only the document", async ({
  page,
}) => {
  await signInAs(page, "clinician@demo.clinic", "Clinician");
  type Rec = { id: string; title: string; attachments: number };
  let found: { patient: Hit; record: Rec } | undefined;
  await expect(async () => {
    for (const patient of await ask<Hit[]>(page, "search_patients", { query: "a" })) {
      const record = (await ask<Rec[]>(page, "patient_records", { patientId: patient.id })).find((r) => r.attachments > 0);
      if (record) {
        found = { patient, record };
        return;
      }
    }
    throw new Error("no record with an attachment yet");
  }).toPass({ timeout: 90_000 });
  if (!found) throw new Error("no record with an attachment");
  await openChartById(page, found.patient);
  await page.getByRole("tab", { name: "Records" }).click();
  await recordWithAttachment(page, found.record.title).click();
  const open = page.getByRole("button", { name: /^Open .+\.pdf$/ }).first();
  await expect(open).toBeVisible({ timeout: 20_000 });
  const fileName = ((await open.textContent()) ?? "").replace(/^Open /, "");
  await open.click();

  const viewer = page.getByRole("dialog", { name: fileName });
  await expect(viewer).toBeVisible();
  await expect(viewer.getByRole("img", { name: /^Page 1 of \d+$/ })).toBeVisible({ timeout: 20_000 });
  // pdf.js draws something: the canvas does not stay blank. (A page's canvas is in the viewer from
  // the moment pdf.js starts drawing it, so it is blank for a moment: hence the poll.)
  const inked = () =>
    viewer
      .locator("canvas")
      .first()
      .evaluate((canvas: HTMLCanvasElement) => {
        const context = canvas.getContext("2d");
        if (!context) return 0;
        const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
        let dark = 0;
        for (let i = 0; i < data.length; i += 4) if ((data[i] ?? 255) < 128) dark++;
        return dark;
      });
  await expect.poll(inked, { timeout: 20_000 }).toBeGreaterThan(100);
  // Once every page is drawn the viewer says how many there are and no longer that it is rendering.
  await expect(viewer.getByText(/^\d+ pages?$/)).toBeVisible();
  await expect(viewer.getByText("Rendering…")).toHaveCount(0);
  await page.screenshot({ path: join(artifactsDir, "browser-attachment-1366x768.png") });
  await noSeriousAxeViolations(page);

  const downloading = page.waitForEvent("download");
  await viewer.getByRole("button", { name: "Save as…" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe(fileName);
  const saved = readFileSync(await download.path());
  expect(pdfText(saved.subarray(0, 5))).toBe("%PDF-");

  // Printing shows the pages and nothing else of the desk.
  const printButton = viewer.getByRole("button", { name: "Print" });
  await page.emulateMedia({ media: "print" });
  await expect(page.getByRole("img", { name: /^Page 1 of \d+$/ })).toBeVisible();
  await expect(printButton).toBeHidden();
  await expect(page.getByTestId("signed-in-user")).toBeHidden();
  await page.emulateMedia({ media: "screen" });
  await viewer.getByRole("button", { name: "Close" }).click();
  await expect(viewer).toBeHidden();
});

test("billing views an invoice's PDF and works the overdue list, which stays when the server is away", async ({
  page,
}) => {
  await signInAs(page, "billing@demo.clinic", "Billing");
  await expect(page.getByTestId("last-sync")).toHaveText(/^synced /, { timeout: 90_000 });
  await page.getByRole("navigation", { name: "Sections" }).getByRole("button", { name: "Billing" }).click();
  const worklist = page.getByRole("table", { name: "Overdue invoices, most overdue first" });
  await expect(worklist).toBeVisible({ timeout: 30_000 });
  const rows = worklist.getByRole("row");
  expect(await rows.count()).toBeGreaterThan(1);
  await page.screenshot({ path: join(artifactsDir, "browser-billing-overdue-1366x768.png") });
  await noSeriousAxeViolations(page);

  // The first line is the most overdue; its patient's chart opens from it, with the invoice's PDF.
  const first = rows.nth(1);
  const invoiceId = (await first.getByRole("cell").nth(1).textContent()) ?? "";
  await first.getByRole("button").click();
  await page.getByRole("tab", { name: "Invoices" }).click();
  await page.getByRole("button", { name: invoiceId, exact: true }).click();
  await page.getByRole("button", { name: "View PDF" }).click();
  const viewer = page.getByRole("dialog", { name: `Invoice ${invoiceId}` });
  await expect(viewer.getByRole("img", { name: /^Page 1 of \d+$/ })).toBeVisible({ timeout: 20_000 });
  await page.screenshot({ path: join(artifactsDir, "browser-invoice-pdf-1366x768.png") });
  await viewer.getByRole("button", { name: "Close" }).click();

  await api.stop();
  await expect(page.getByTestId("connection-status")).toHaveText(/^Offline/, { timeout: 20_000 });
  await page.getByRole("navigation", { name: "Sections" }).getByRole("button", { name: "Billing" }).click();
  await expect(page.getByRole("note").filter({ hasText: "this list is what this desk has cached" })).toBeVisible({
    timeout: 30_000,
  });
  await expect(worklist.getByRole("row", { name: new RegExp(invoiceId) })).toBeVisible();
  api = await startApiServer({ port, database, today });
});

test("a payment taken offline has a provisional receipt, and the server's once it is confirmed", async ({ page }) => {
  await signInAs(page, "billing@demo.clinic", "Billing");
  type Inv = { id: string; balance: number; payments: Array<{ id: string }> };
  let found: { patient: Hit; invoice: Inv } | undefined;
  await expect(async () => {
    for (const patient of await ask<Hit[]>(page, "search_patients", { query: "e" })) {
      const owed = (await ask<Inv[]>(page, "patient_invoices", { patientId: patient.id })).find((i) => i.balance >= 5);
      if (owed) {
        found = { patient, invoice: owed };
        return;
      }
    }
    throw new Error("nobody owes anything yet");
  }).toPass({ timeout: 60_000 });
  if (!found) throw new Error("no invoice with a balance");
  const { patient, invoice } = found;
  await openChartById(page, patient);
  await page.getByRole("tab", { name: "Invoices" }).click();
  await page.getByRole("button", { name: invoice.id, exact: true }).click();
  await expect(page.getByRole("heading", { name: new RegExp(`Invoice ${invoice.id}`) })).toBeVisible();

  await api.stop();
  await expect(page.getByTestId("connection-status")).toHaveText(/^Offline/, { timeout: 20_000 });
  const form = page.getByRole("form", { name: "Take a payment" });
  await form.getByLabel("Method").selectOption("Cash");
  await form.getByLabel("Amount (USD)").fill("1.25");
  await form.getByRole("button", { name: "Take payment" }).click();
  await expect(form.getByRole("status")).toContainText("pending confirmation");
  await expect(page.getByTestId("pending-count")).toHaveText("1 pending", { timeout: 10_000 });
  await form.getByRole("button", { name: "Print or save the receipt" }).click();
  const viewer = page.getByRole("dialog", { name: `Receipt for invoice ${invoice.id}` });
  await expect(viewer.getByRole("note")).toContainText("Provisional receipt — pending confirmation");
  await expect(viewer.getByRole("img", { name: "Page 1 of 1" })).toBeVisible({ timeout: 20_000 });
  await page.screenshot({ path: join(artifactsDir, "browser-receipt-provisional-1366x768.png") });
  const downloading = page.waitForEvent("download");
  await viewer.getByRole("button", { name: "Save as…" }).click();
  const provisional = pdfText(readFileSync(await (await downloading).path()));
  expect(provisional).toContain("PROVISIONAL - pending confirmation");
  expect(provisional).toContain("$1.25");
  await viewer.getByRole("button", { name: "Close" }).click();

  api = await startApiServer({ port, database, today });
  await expect(page.getByTestId("pending-count")).toHaveText("0 pending", { timeout: 150_000 });
  await expect(page.getByTestId("conflict-count")).toHaveText("0 conflicts");
  // The confirmed payment's receipt is the server's.
  let confirmed: Inv | undefined;
  await expect(async () => {
    confirmed = await ask<Inv>(page, "open_invoice", { invoiceId: invoice.id });
    expect(confirmed.payments.filter((p) => p.id.startsWith("local-"))).toEqual([]);
  }).toPass({ timeout: 30_000 });
  if (!confirmed) throw new Error("no invoice");
  await expect(page.getByText("Pending confirmation", { exact: true })).toHaveCount(0, { timeout: 20_000 });
  const paid = confirmed.payments.find((p) => !invoice.payments.some((q) => q.id === p.id));
  if (!paid) throw new Error("the payment is not on the server's invoice");
  const receipt = await ask<{ provisional: boolean; base64: string }>(page, "open_document", {
    document: { kind: "receipt", invoiceId: invoice.id, paymentId: paid.id },
  });
  expect(receipt.provisional).toBe(false);
  const serverText = Buffer.from(receipt.base64, "base64").toString("latin1");
  expect(serverText).toContain("Payment receipt");
  expect(serverText).not.toContain("pending confirmation");
});

test("a change left behind at sign-out waits on the conflicts screen until an administrator sends it", async ({
  page,
}) => {
  await signInAs(page, "billing@demo.clinic", "Billing");
  type Inv = { id: string; balance: number };
  let found: { patient: Hit; invoice: Inv } | undefined;
  await expect(async () => {
    for (const patient of await ask<Hit[]>(page, "search_patients", { query: "o" })) {
      const owed = (await ask<Inv[]>(page, "patient_invoices", { patientId: patient.id })).find((i) => i.balance >= 5);
      if (owed) {
        found = { patient, invoice: owed };
        return;
      }
    }
    throw new Error("nobody owes anything yet");
  }).toPass({ timeout: 60_000 });
  if (!found) throw new Error("no invoice with a balance");
  const { patient, invoice } = found;
  await openChartById(page, patient);
  await page.getByRole("tab", { name: "Invoices" }).click();
  await page.getByRole("button", { name: invoice.id, exact: true }).click();
  await expect(page.getByRole("heading", { name: new RegExp(`Invoice ${invoice.id}`) })).toBeVisible();
  await api.stop();
  await expect(page.getByTestId("connection-status")).toHaveText(/^Offline/, { timeout: 20_000 });
  const form = page.getByRole("form", { name: "Take a payment" });
  await form.getByLabel("Method").selectOption("Check");
  await form.getByLabel("Amount (USD)").fill("2.00");
  await form.getByLabel("Reference").fill("chk 1001");
  await form.getByRole("button", { name: "Take payment" }).click();
  await expect(form.getByRole("status")).toContainText("pending confirmation");
  await expect(page.getByTestId("pending-count")).toHaveText("1 pending", { timeout: 10_000 });
  await page.getByRole("button", { name: /account/ }).click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("button", { name: "Sign out anyway" }).click();
  await expect(page.getByRole("heading", { name: "Sign in to Front Desk" })).toBeVisible({ timeout: 30_000 });

  api = await startApiServer({ port, database, today });
  await signInAs(page, "admin@demo.clinic", "Administrator");
  // The invoice says the payment was refused (not "pending confirmation") and leads to the conflict.
  await openChartById(page, patient);
  await page.getByRole("tab", { name: "Invoices" }).click();
  await page.getByRole("button", { name: invoice.id, exact: true }).click();
  const refused = page.getByRole("button", { name: "Refused — see Conflicts" });
  await expect(refused).toBeVisible({ timeout: 20_000 });
  await expect(page.getByText("Pending confirmation", { exact: true })).toHaveCount(0);
  await refused.scrollIntoViewIfNeeded();
  // No receipt is offered for a payment the server refused.
  const refusedRow = page.locator(".totals-row").filter({ has: refused });
  await expect(refusedRow.getByRole("button", { name: /^Receipt/ })).toHaveCount(0);
  await page.screenshot({ path: join(artifactsDir, "browser-invoice-refused-1366x768.png") });
  await noSeriousAxeViolations(page);
  await refused.click();
  await expect(page.getByRole("heading", { level: 1, name: "Conflicts" })).toBeVisible();
  const conflict = page.getByRole("article").filter({ hasText: "Payment" });
  await expect(conflict).toBeVisible();
  await expect(conflict.getByRole("note")).toBeVisible();
  // The author by name and role (billing signed in on this desk), the payment's fields in words.
  await expect(conflict).toContainText("By Bea Billing (Billing)");
  await expect(conflict).not.toContainText("USR-");
  const ours = conflict.locator(".conflict-side").first();
  await expect(ours.getByRole("definition").filter({ hasText: "$2.00" })).toBeVisible();
  await expect(ours).toContainText("Amount$2.00");
  await expect(ours).toContainText("MethodCheck");
  await expect(ours).toContainText("Referencechk 1001");
  await expect(ours).not.toContainText("payment.");
  await page.screenshot({ path: join(artifactsDir, "browser-conflicts-1366x768.png") });
  await noSeriousAxeViolations(page);
  await conflict.getByRole("button", { name: "Edit and retry" }).click();
  await conflict.getByLabel("Reference", { exact: true }).fill("chk 1002");
  await conflict.getByRole("button", { name: "Send again as edited" }).click();
  await expect(page.getByText("No conflicts: every change was accepted.")).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId("pending-count")).toHaveText("0 pending", { timeout: 60_000 });
  const after = await ask<{ payments: Array<{ reference?: string }> }>(page, "open_invoice", { invoiceId: invoice.id });
  expect(after.payments.some((p) => p.reference === "chk 1002")).toBe(true);
});

test("the administrator's audit log shows each opening, filters by action and exports CSV", async ({ page }) => {
  await signInAs(page, "admin@demo.clinic", "Administrator");
  await page.getByRole("navigation", { name: "Sections" }).getByRole("button", { name: "Admin" }).click();
  const table = page.getByRole("table", { name: "Audit log entries, newest first" });
  await expect(table).toBeVisible();
  await expect(table.getByRole("row", { name: /Opened an attachment/ }).first()).toBeVisible();
  // People by name and role where they signed in on this desk, not by user id.
  await expect(table.getByRole("row", { name: /Clinician\) Opened an attachment/ }).first()).toBeVisible();
  await expect(table.getByRole("cell", { name: /^USR-/ })).toHaveCount(0);
  await expect(page.getByLabel("User").getByRole("option", { name: /\(Billing\)$/ })).toHaveCount(1);
  await page.getByLabel("Action").selectOption({ label: "Opened an invoice or receipt" });
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(table.getByRole("row", { name: /Opened an attachment/ })).toHaveCount(0);
  await expect(table.getByRole("row", { name: /receipt/ }).first()).toBeVisible();
  await page.screenshot({ path: join(artifactsDir, "browser-audit-log-1366x768.png") });
  await noSeriousAxeViolations(page);
  const downloading = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export CSV" }).click();
  const csv = readFileSync(await (await downloading).path(), "utf8");
  const lines = csv.trim().split("\r\n");
  expect(lines[0]).toBe("seq,at,user,name,role,action,kind,id");
  expect(lines.length).toBeGreaterThan(1);
  expect(lines.slice(1).every((line) => /,viewed_invoice,[a-z_]+,[^,]+$/.test(line))).toBe(true);
  // Billing signed in on this desk: the export names them and their role beside the id.
  expect(lines.slice(1).some((line) => /^\d+,[^,]+,USR-[^,]+,[^,]+,billing,viewed_invoice,/.test(line))).toBe(true);
  // Before any filter: a date range in the future matches nothing.
  await page.getByLabel("Action").selectOption({ label: "Any" });
  await page.getByLabel("From").fill("2099-01-01");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(page.getByText("No entries match.")).toBeVisible();
});
