// The lock in browser mode: a desk started with a lock time of a few seconds (`--lock-seconds`, a
// test setting) locks while nobody touches it, hides every patient, refuses patient commands over
// HTTP (423) until unlocked, stays open while someone is typing, and locks at once on Ctrl+L.
import AxeBuilder from "@axe-core/playwright";
import { expect, type Page, test } from "@playwright/test";
import { join } from "node:path";
import { artifactsDir, startServe } from "../support/desk.mjs";

// Long enough that opening a chart on a busy two-core machine does not outlast it.
const LOCK_SECONDS = 10;
let desk: Awaited<ReturnType<typeof startServe>>;

test.describe.configure({ mode: "serial", timeout: 120_000 });
test.beforeAll(async () => {
  desk = await startServe(["--lock-seconds", String(LOCK_SECONDS)]);
});
test.afterAll(() => desk?.stop());

async function openSomeChart(page: Page) {
  await page.goto(desk.url);
  await page.getByLabel("User name").fill("reception@demo.clinic");
  await page.getByLabel("Password").fill("demo-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByTestId("signed-in-user")).toContainText("Reception");
  const search = page.getByRole("combobox", { name: "Search patients" });
  // Typing keeps the desk awake while the first sync fills the cache.
  const options = page.getByRole("listbox", { name: "Matching patients" }).getByRole("option");
  await expect(async () => {
    await search.fill("");
    await search.pressSequentially("smith");
    await expect(options.first()).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 60_000 });
  await search.press("Enter");
  // The chart that opened names the patient (the list can still change under the first sync
  // between reading an option and pressing Enter, so the option's text is not the witness).
  const heading = page.getByRole("article").getByRole("heading", { level: 1 });
  await expect(heading).toBeVisible();
  const name = ((await heading.textContent()) ?? "").trim();
  const last = name.split(" ").pop() ?? "";
  const first = name.slice(0, name.length - last.length).trim();
  return { first, last };
}

test("an idle desk locks, hides the patient, refuses patient data, and unlocks with the password", async ({ page }) => {
  const patient = await openSomeChart(page);

  // Someone typing keeps it open past the lock time.
  for (let i = 0; i < 3 * LOCK_SECONDS; i++) {
    await page.keyboard.press("Shift");
    await page.waitForTimeout(500);
  }
  await expect(page.getByRole("heading", { level: 1, name: `${patient.first} ${patient.last}` })).toBeVisible();

  // Nobody touches it: the lock screen.
  const field = page.getByLabel("Password", { exact: true });
  await expect(field).toBeVisible({ timeout: (LOCK_SECONDS + 5) * 1000 });
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Reception");
  const html = await page.content();
  expect(html).not.toContain(patient.last);
  await expect(page.getByRole("combobox", { name: "Search patients" })).toHaveCount(0);
  await page.screenshot({ path: join(artifactsDir, "browser-lock-1366x768.png") });
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21aa"]).analyze();
  expect(results.violations.filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);

  // The desk itself refuses, whatever the page does.
  const refused = await page.request.post(`${desk.origin}/api/commands/search_patients`, { data: { query: "smith" } });
  expect(refused.status()).toBe(423);
  expect(((await refused.json()) as { code: string }).code).toBe("locked");
  const status = await page.request.post(`${desk.origin}/api/commands/sync_status`, { data: {} });
  expect(status.ok()).toBe(true);

  await field.fill("not-the-password");
  await field.press("Enter");
  await expect(page.getByRole("alert")).toContainText("not accepted");
  await field.fill("demo-password");
  await page.getByRole("button", { name: "Unlock" }).click();
  await expect(page.getByTestId("signed-in-user")).toContainText("Reception");
  const allowed = await page.request.post(`${desk.origin}/api/commands/search_patients`, { data: { query: "smith" } });
  expect(allowed.ok()).toBe(true);
});

test("Ctrl+L locks at once, and a reload still shows the lock screen", async ({ page }) => {
  await page.goto(desk.url);
  const field = page.getByLabel("Password", { exact: true });
  await expect(page.getByTestId("signed-in-user").or(field)).toBeVisible();
  if (await field.isVisible()) {
    await field.fill("demo-password");
    await field.press("Enter");
  }
  await expect(page.getByTestId("signed-in-user")).toBeVisible();
  await page.keyboard.press("Control+L");
  await expect(field).toBeVisible();
  await page.reload();
  await expect(field).toBeVisible();
  await expect(page.getByTestId("signed-in-user")).toHaveCount(0);
  await field.fill("demo-password");
  await field.press("Enter");
  await expect(page.getByTestId("signed-in-user")).toBeVisible();
});
