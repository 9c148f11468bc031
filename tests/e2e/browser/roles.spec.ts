// What each role is offered, as a person sees it in browser mode: billing registers nobody (and
// Ctrl+N says why), reception sees no records (and the chart says why), a clinician reads them,
// only an administrator is offered the device's data.
import { expect, type Page, test } from "@playwright/test";
import { join } from "node:path";
import { artifactsDir, startServe } from "../support/desk.mjs";

let desk: Awaited<ReturnType<typeof startServe>>;

test.describe.configure({ mode: "serial", timeout: 120_000 });
test.beforeAll(async () => {
  desk = await startServe();
});
test.afterAll(() => desk?.stop());

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

async function openAChart(page: Page) {
  const search = page.getByRole("combobox", { name: "Search patients" });
  const options = page.getByRole("listbox", { name: "Matching patients" }).getByRole("option");
  await expect(async () => {
    await search.fill("");
    await search.pressSequentially("smith");
    await expect(options.first()).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 60_000 });
  await search.press("Enter");
  await expect(page.getByRole("tablist", { name: "Chart sections" })).toBeVisible();
}

test("billing is not offered registration, and Ctrl+N says why", async ({ page }) => {
  await signInAs(page, "billing@demo.clinic", "Billing");
  await expect(page.getByRole("button", { name: /New patient/ })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Register a new patient" })).toHaveCount(0);
  await page.keyboard.press("Control+N");
  await expect(page.getByRole("note")).toHaveText(
    "Your role (Billing) does not change patients' details; reception or a clinician can.",
  );
  await page.screenshot({ path: join(artifactsDir, "browser-roles-billing-1366x768.png") });
  await page.getByRole("button", { name: /account/ }).click();
  await expect(page.getByRole("button", { name: "Remove this device's data…" })).toHaveCount(0);
});

test("reception sees no records and is told why; a clinician reads them", async ({ page }) => {
  await signInAs(page, "reception@demo.clinic", "Reception");
  await openAChart(page);
  const tabs = page.getByRole("tablist", { name: "Chart sections" });
  await expect(tabs.getByRole("tab", { name: "Records" })).toHaveCount(0);
  await expect(page.getByText("Medical records are shown to clinicians only.")).toBeVisible();

  await signInAs(page, "clinician@demo.clinic", "Clinician");
  await openAChart(page);
  await expect(tabs.getByRole("tab", { name: "Records" })).toBeVisible();
});

test("only an administrator is offered the device's data; ? lists the shortcuts", async ({ page }) => {
  await signInAs(page, "admin@demo.clinic", "Administrator");
  await page.keyboard.press("?");
  const shortcuts = page.getByRole("dialog", { name: "Keyboard shortcuts" });
  await expect(shortcuts).toBeVisible();
  await expect(shortcuts.getByRole("row", { name: /Ctrl\+L/ })).toContainText("Lock the desk");
  await expect(shortcuts.getByRole("row", { name: /Ctrl\+K/ })).toContainText("Search patients");
  await page.keyboard.press("Escape");
  await expect(shortcuts).toBeHidden();
  await page.getByRole("button", { name: /account/ }).click();
  await expect(page.getByRole("button", { name: "Remove this device's data…" })).toBeVisible();
});

test("billing takes a payment on an invoice: pending, then the balance goes down", async ({ page }) => {
  await signInAs(page, "billing@demo.clinic", "Billing");
  // A patient who owes something, asked of the desk's own commands (the page's cookie has the key).
  const ask = async <T,>(command: string, data: object): Promise<T> => {
    const response = await page.request.post(`${desk.origin}/api/commands/${command}`, { data });
    expect(response.ok()).toBe(true);
    return (await response.json()) as T;
  };
  type Hit = { id: string; firstName: string; lastName: string };
  type Inv = { id: string; balance: number };
  let found: { patient: Hit; invoice: Inv } | undefined;
  await expect(async () => {
    for (const patient of await ask<Hit[]>("search_patients", { query: "a" })) {
      const owed = (await ask<Inv[]>("patient_invoices", { patientId: patient.id })).find((i) => i.balance >= 5);
      if (owed) {
        found = { patient, invoice: owed };
        return;
      }
    }
    throw new Error("nobody owes anything yet");
  }).toPass({ timeout: 60_000 });
  if (!found) throw new Error("no invoice with a balance");
  const { patient, invoice } = found;

  await page.keyboard.press("Control+K");
  // By id: the demo has namesakes, and the invoice belongs to this one.
  await page.getByRole("combobox", { name: "Search patients" }).pressSequentially(patient.id);
  await page.getByRole("option", { name: new RegExp(`${patient.lastName}, ${patient.firstName}`) }).first().click();
  await expect(page.getByRole("heading", { level: 1, name: `${patient.firstName} ${patient.lastName}` })).toBeVisible();
  await page.getByRole("tab", { name: "Invoices" }).click();
  await page.getByRole("button", { name: new RegExp(invoice.id) }).click();
  const form = page.getByRole("form", { name: "Take a payment" });
  await form.getByLabel("Method").selectOption("Cash");
  await form.getByLabel("Amount (USD)").fill(String(invoice.balance + 1));
  await form.getByRole("button", { name: "Take payment" }).click();
  await expect(form.getByText(/must be at most the balance/)).toBeVisible();
  await form.getByLabel("Amount (USD)").fill("2.50");
  await form.getByLabel("Reference").fill("copay");
  await form.getByRole("button", { name: "Take payment" }).click();
  await expect(form.getByRole("status")).toContainText("Payment of $2.50 taken: pending confirmation");
  await page.screenshot({ path: join(artifactsDir, "browser-payment-1366x768.png") });
  await expect(page.getByTestId("pending-count")).toHaveText("0 pending", { timeout: 30_000 });
});
