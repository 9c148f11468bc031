// The receptionist's morning and a clinician's look at a chart, in browser mode against the
// embedded demo server: sign in (tokens in a private gnome-keyring), the cache filled by sync,
// search with a typo, a chart, a registration with its duplicate check. Elements are found by
// role and label, as a person finds them.
import AxeBuilder from "@axe-core/playwright";
import { expect, type Page, test } from "@playwright/test";
import { join } from "node:path";
import { artifactsDir, startServe } from "../support/desk.mjs";

let desk: Awaited<ReturnType<typeof startServe>>;

test.describe.configure({ mode: "serial" });
test.beforeAll(async () => {
  desk = await startServe();
});
test.afterAll(() => desk?.stop());

const shot = (page: Page, name: string) => page.screenshot({ path: join(artifactsDir, `${name}-1366x768.png`) });

/** axe finds no serious or critical WCAG 2 A/AA violation on the screen as it is. */
async function expectAccessible(page: Page, screen: string) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21aa"]).analyze();
  const serious = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
  expect(serious, `accessibility of ${screen}`).toEqual([]);
}

/** Opens the desk signed in as `user` (switching user first when someone else is signed in). */
async function signInAs(page: Page, user: string, name: RegExp) {
  await page.goto(desk.url);
  const signedIn = page.getByTestId("signed-in-user");
  const signInHeading = page.getByRole("heading", { name: "Sign in to Front Desk" });
  await expect(signedIn.or(signInHeading)).toBeVisible();
  if (await signedIn.isVisible()) {
    if (name.test((await signedIn.textContent()) ?? "")) return;
    await page.getByRole("button", { name: "Switch user" }).click();
  }
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill("demo-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(signedIn).toContainText(name);
}

/** A cached patient, asked of the desk's own command (the page's cookie carries the launch key). */
async function cachedPatient(page: Page, query: string) {
  const response = await page.request.post(`${desk.origin}/api/commands/search_patients`, { data: { query } });
  expect(response.ok()).toBe(true);
  const found = (await response.json()) as Array<{ id: string; firstName: string; lastName: string; dateOfBirth: string }>;
  const patient = found[0];
  if (!patient) throw new Error(`no cached patient matches ${query}`);
  return patient;
}

test("a wrong password is refused, and nothing is signed in", async ({ page }) => {
  await page.goto(desk.url);
  await expect(page.getByRole("heading", { name: "Sign in to Front Desk" })).toBeVisible();
  await expect(page.getByLabel("User name")).toBeFocused();
  await shot(page, "browser-sign-in");
  await expectAccessible(page, "sign-in");
  await page.getByLabel("User name").fill("reception@demo.clinic");
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("alert")).toContainText("not accepted");
  await expect(page.getByLabel("Password")).toHaveAttribute("aria-invalid", "true");
  const session = await page.request.post(`${desk.origin}/api/commands/session`, { data: {} });
  expect(await session.json()).toBeNull();
});

test("the receptionist signs in and the first sync fills the cache", async ({ page }) => {
  await signInAs(page, "reception@demo.clinic", /Reception/);
  await expect(page.getByRole("navigation", { name: "Sections" }).getByRole("button", { name: /Patients/ })).toBeVisible();
  if (await page.getByRole("progressbar", { name: /First sync/ }).isVisible()) await shot(page, "browser-first-sync");
  await page.keyboard.press("?");
  const shortcuts = page.getByRole("dialog", { name: "Keyboard shortcuts" });
  await expect(shortcuts).toContainText("Search patients, from anywhere");
  await page.keyboard.press("Escape");
  await expect(shortcuts).toBeHidden();
  await expect(page.getByTestId("last-sync")).toHaveText(/^synced /, { timeout: 90_000 });
  await expect(page.getByRole("progressbar")).toHaveCount(0, { timeout: 90_000 });
  await expect(page.getByTestId("pending-count")).toHaveText("0 pending");
  await shot(page, "browser-patients");
  await expectAccessible(page, "patients");
});

test("search finds patients despite a typo, marks the match, and Enter opens the chart", async ({ page }) => {
  await signInAs(page, "reception@demo.clinic", /Reception/);
  await page.keyboard.press("Control+K");
  const search = page.getByRole("combobox", { name: "Search patients" });
  await expect(search).toBeFocused();
  await search.pressSequentially("smiht");
  const options = page.getByRole("listbox", { name: "Matching patients" }).getByRole("option");
  await expect(options.first()).toContainText("Smith");
  await expect(options.first().locator("mark").first()).toBeVisible();
  await shot(page, "browser-search");
  await expectAccessible(page, "search results");
  const chosen = (await options.nth(1).locator(".search-name").textContent()) ?? "";
  const [last, first] = chosen.split(",").map((s) => s.trim());
  await search.press("ArrowDown");
  await expect(options.nth(1)).toHaveAttribute("aria-selected", "true");
  await search.press("Enter");
  await expect(page.getByRole("heading", { level: 1, name: `${first} ${last}` })).toBeVisible();

  const tabs = page.getByRole("tablist", { name: "Chart sections" });
  await expect(tabs.getByRole("tab", { name: "Appointments" })).toHaveAttribute("aria-selected", "true");
  await expect(tabs.getByRole("tab", { name: "Records" })).toHaveCount(0);
  await expect(page.getByText("Medical records are shown to clinicians only.")).toBeVisible();
  await expect(page.getByRole("tabpanel").getByRole("table").or(page.getByText("No appointments."))).toBeVisible();
  await shot(page, "browser-chart-appointments");
  await tabs.getByRole("tab", { name: "Appointments" }).press("ArrowRight");
  await expect(tabs.getByRole("tab", { name: "Invoices" })).toHaveAttribute("aria-selected", "true");
  await expect(page.getByRole("tabpanel").getByRole("table").or(page.getByText("No invoices."))).toBeVisible();
  await shot(page, "browser-chart");
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.screenshot({ path: join(artifactsDir, "browser-chart-1920x1080.png") });
  await page.setViewportSize({ width: 1366, height: 768 });
  await expectAccessible(page, "chart");

  // The chart is now a recent patient: the empty search box offers it.
  await page.keyboard.press("Control+K");
  await expect(page.getByRole("listbox", { name: "Recent patients" }).getByRole("option").first()).toContainText(last ?? "");
});

test("registration checks the rules as you type, explains a duplicate, and saves through the outbox", async ({ page }) => {
  await signInAs(page, "reception@demo.clinic", /Reception/);
  const existing = await cachedPatient(page, "garcia");
  await page.keyboard.press("Control+N");
  await expect(page.getByRole("heading", { name: "Register a new patient" })).toBeVisible();

  await page.getByLabel("Email").fill("not-an-email");
  await expect(page.getByLabel("Email")).toHaveAttribute("aria-invalid", "true");
  await page.getByLabel("Date of birth").fill("2099-01-01");
  await expect(page.getByLabel("Date of birth")).toHaveAttribute("aria-invalid", "true");
  await page.getByLabel("Email").fill("");

  await page.getByLabel("First name").fill(existing.firstName);
  await page.getByLabel("Last name").fill(existing.lastName);
  await page.getByLabel("Date of birth").fill(existing.dateOfBirth);
  await page.getByLabel("Gender").selectOption("U");
  // Allergies are asked explicitly: "No known allergies" is an answer, not a default.
  await page.getByRole("radio", { name: "No known allergies" }).check();
  const duplicates = page.getByRole("region", { name: "Already registered?" });
  await expect(duplicates).toContainText(`${existing.firstName} ${existing.lastName}`);
  await expect(duplicates).toContainText(/Same name and date of birth/);
  await shot(page, "browser-register-duplicate");
  await expectAccessible(page, "registration with a possible duplicate");
  // Saving is held until the person says it is someone else.
  await page.getByRole("button", { name: "Register patient" }).click();
  await expect(duplicates).toBeFocused();

  const suffix = Date.now().toString(36).replace(/[0-9]/g, "q");
  const firstName = "Wilhelmina";
  const lastName = `Testcase${suffix}`;
  await page.getByLabel("First name").fill(firstName);
  await page.getByLabel("Last name").fill(lastName);
  await page.getByLabel("Date of birth").fill("1990-05-06");
  await page.getByLabel("Phone").fill("(555) 010-7788");
  await expect(page.getByLabel("Date of birth")).not.toHaveAttribute("aria-invalid", "true");
  // Nobody else has this name: the question goes away by itself.
  await expect(duplicates).toBeHidden();
  await page.getByRole("button", { name: "Register patient" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `${firstName} ${lastName}` })).toBeVisible();
  // Pending until the server confirms; then the chart carries the server's record.
  await expect(page.getByText("Pending confirmation")).toHaveCount(0, { timeout: 30_000 });
  await expect(page.getByTestId("pending-count")).toHaveText("0 pending", { timeout: 30_000 });
  await expect(page.locator("dd", { hasText: /^MRN-\d+$/ })).toBeVisible();
  await shot(page, "browser-registered");

  await page.keyboard.press("Control+K");
  await page.getByRole("combobox", { name: "Search patients" }).pressSequentially(lastName.toLowerCase());
  await expect(page.getByRole("option", { name: new RegExp(lastName) })).toBeVisible();
});

test("a clinician reads a SOAP note in the Records tab", async ({ page }) => {
  await signInAs(page, "clinician@demo.clinic", /Clinician/);
  await page.keyboard.press("/");
  const search = page.getByRole("combobox", { name: "Search patients" });
  await expect(search).toBeFocused();
  await search.pressSequentially("johnson");
  await expect(page.getByRole("option").first()).toBeVisible();
  await search.press("Enter");
  await page.getByRole("tab", { name: "Records" }).click();
  const records = page.getByRole("list", { name: "Records" });
  await expect(records.or(page.getByText("No records."))).toBeVisible();
  if (await records.isVisible()) {
    await expect(page.getByRole("heading", { level: 3, name: "Subjective" })).toBeVisible();
    await expect(page.getByRole("heading", { level: 3, name: "Plan" })).toBeVisible();
  }
  await shot(page, "browser-record");
  await expectAccessible(page, "record");
});

test("reception edits a patient's phone: only that is sent, pending until the server confirms", async ({ page }) => {
  await signInAs(page, "reception@demo.clinic", /Reception/);
  const patient = await cachedPatient(page, "garcia");
  await page.keyboard.press("Control+K");
  await page.getByRole("combobox", { name: "Search patients" }).pressSequentially(`${patient.firstName} ${patient.lastName}`);
  // That patient's option (while typing, the list can still show an earlier query's first).
  await page.getByRole("option", { name: new RegExp(`${patient.lastName}, ${patient.firstName}`) }).first().click();
  await expect(page.getByRole("heading", { level: 1, name: `${patient.firstName} ${patient.lastName}` })).toBeVisible();
  await page.getByRole("button", { name: "Edit details" }).click();
  await expect(page.getByRole("heading", { level: 1, name: /^Edit / })).toBeVisible();
  await expect(page.getByLabel("First name")).not.toHaveValue("");
  const phone = `555-010-${String(Date.now() % 10000).padStart(4, "0")}`;
  await page.getByLabel("Phone").fill(phone);
  await shot(page, "browser-edit-patient");
  await expectAccessible(page, "edit patient");
  await page.getByRole("button", { name: "Save changes" }).click();
  const header = page.locator(".chart-header");
  await expect(header).toContainText(phone);
  await expect(page.getByTestId("pending-count")).toHaveText("0 pending", { timeout: 30_000 });
  await expect(page.getByText("Pending confirmation")).toHaveCount(0, { timeout: 30_000 });
});
