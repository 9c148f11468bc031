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
