// The end of a shift and of a desk, in browser mode against a file-backed server (so tokens
// outlive a restart of the desk): sign-out, the session carried over a restart (locked), an unlock
// PIN, and an administrator removing the device's data after being told what is on it.
import AxeBuilder from "@axe-core/playwright";
import { expect, type Page, test } from "@playwright/test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { artifactsDir, freeLoopbackPort, startApiServer, startServe, scratchDir } from "../support/desk.mjs";

let api: Awaited<ReturnType<typeof startApiServer>>;

test.describe.configure({ mode: "serial", timeout: 180_000 });
test.beforeAll(async () => {
  const port = await freeLoopbackPort();
  const database = join(scratchDir("frontdesk-api-"), "practice-studio.db");
  api = await startApiServer({ port, database, patients: 120 });
});
test.afterAll(async () => api?.stop());

async function signIn(page: Page, url: string, user: string, role: RegExp) {
  await page.goto(url);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill("demo-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByTestId("signed-in-user")).toContainText(role);
}

async function accessible(page: Page, screen: string) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21aa"]).analyze();
  const serious = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
  expect(serious, `accessibility of ${screen}`).toEqual([]);
}

test("sign out ends the session: the desk refuses patient data and shows the sign-in screen", async ({ page }) => {
  const desk = await startServe(["--api-url", api.url], { demo: false });
  try {
    await signIn(page, desk.url, "reception@demo.clinic", /Reception/);
    await page.getByRole("button", { name: /account/ }).click();
    await expect(page.getByRole("group", { name: "Account" })).toBeVisible();
    await page.screenshot({ path: join(artifactsDir, "browser-account-menu-1366x768.png") });
    await accessible(page, "account menu");
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page.getByRole("heading", { name: "Sign in to Front Desk" })).toBeVisible();
    const refused = await page.request.post(`${desk.origin}/api/commands/search_patients`, { data: { query: "a" } });
    expect(refused.status()).toBe(401);
  } finally {
    await desk.stop();
  }
});

test("a restarted desk brings the user back locked, and a PIN unlocks it", async ({ page }) => {
  const first = await startServe(["--api-url", api.url], { demo: false });
  await signIn(page, first.url, "clinician@demo.clinic", /Clinician/);
  await expect(page.getByTestId("last-sync")).toHaveText(/^synced /, { timeout: 90_000 });
  await first.stop();

  // Same data directory and keyring: a restart. No password typed, but the desk is locked.
  const desk = await startServe(["--api-url", api.url], { demo: false, home: first.home });
  try {
    await page.goto(desk.url);
    const field = page.getByLabel("Password", { exact: true });
    await expect(field).toBeVisible();
    await expect(page.getByRole("heading", { level: 1 })).toContainText("Clinician");
    await field.fill("demo-password");
    await field.press("Enter");
    await expect(page.getByTestId("signed-in-user")).toContainText("Clinician");

    await page.getByRole("button", { name: /account/ }).click();
    await page.getByRole("button", { name: "Set an unlock PIN…" }).click();
    const dialog = page.getByRole("dialog", { name: "Unlock PIN" });
    await dialog.getByLabel("New PIN").fill("2468");
    await dialog.getByLabel("The PIN again").fill("2469");
    await expect(dialog.getByRole("alert")).toHaveText("The two PINs differ.");
    await dialog.getByLabel("The PIN again").fill("2468");
    await page.screenshot({ path: join(artifactsDir, "browser-pin-1366x768.png") });
    await accessible(page, "PIN dialog");
    await dialog.getByRole("button", { name: "Set PIN" }).click();
    await expect(dialog.getByRole("status")).toContainText("Your PIN is set");
    await dialog.getByRole("button", { name: "Done" }).click();

    await page.keyboard.press("Control+L");
    const either = page.getByLabel("Password or PIN");
    await expect(either).toBeVisible();
    await either.fill("2468");
    await either.press("Enter");
    await expect(page.getByTestId("signed-in-user")).toContainText("Clinician");
  } finally {
    await desk.stop();
  }
});

test("an administrator sees what is on the desk, then removes it; the cache file is gone", async ({ page }) => {
  const desk = await startServe(["--api-url", api.url], { demo: false });
  try {
    await signIn(page, desk.url, "reception@demo.clinic", /Reception/);
    await page.getByRole("button", { name: /account/ }).click();
    await expect(page.getByRole("button", { name: "Remove this device's data…" })).toHaveCount(0);
    await page.keyboard.press("Escape");
    await page.getByRole("button", { name: "Switch user" }).click();
    await signIn(page, desk.url, "admin@demo.clinic", /Administrator/);
    await expect(page.getByTestId("last-sync")).toHaveText(/^synced /, { timeout: 90_000 });
    expect(existsSync(join(desk.home, "desk", "cache.db"))).toBe(true);

    await page.getByRole("button", { name: /account/ }).click();
    await page.getByRole("button", { name: "Remove this device's data…" }).click();
    const dialog = page.getByRole("dialog", { name: "Remove this device's data" });
    await expect(dialog).toContainText("0 changes not yet sent to the server");
    await expect(dialog).toContainText("2 people signed in on this desk");
    await expect(dialog.getByRole("button", { name: "Keep the data" })).toBeFocused();
    await page.screenshot({ path: join(artifactsDir, "browser-remove-data-1366x768.png") });
    await accessible(page, "remove data dialog");
    await dialog.getByRole("button", { name: "Remove this device's data" }).click();
    await expect(page.getByRole("heading", { name: "Sign in to Front Desk" })).toBeVisible();
    expect(existsSync(join(desk.home, "desk", "cache.db"))).toBe(false);
    expect(existsSync(join(desk.home, "desk", "audit.db"))).toBe(true);
  } finally {
    await desk.stop();
  }
});
