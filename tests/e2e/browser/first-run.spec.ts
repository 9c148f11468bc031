import { expect, test } from "@playwright/test";
import { join } from "node:path";
import { artifactsDir, startServe } from "../support/desk.mjs";

// A desk on a new machine: no --demo, no configuration file, no FRONTDESK_API_URL.
let desk: Awaited<ReturnType<typeof startServe>>;

test.beforeAll(async () => {
  desk = await startServe([], { demo: false });
});

test.afterAll(() => desk?.stop());

test("a desk with no configuration asks for the server address and explains a bad one", async ({ page }) => {
  await page.goto(desk.url);
  await expect(page.getByRole("heading", { name: "Connect to Practice Studio" })).toBeVisible();
  await expect(page.getByTestId("connection-status")).toHaveText("Not connected: no server configured yet");
  const field = page.getByLabel("Practice Studio address");
  await expect(field).toBeFocused();
  await page.screenshot({ path: join(artifactsDir, "browser-first-run-1366x768.png") });

  await field.fill("ftp://files.example.org");
  await page.getByRole("button", { name: "Connect" }).click();
  await expect(page.getByRole("alert")).toContainText("is not http or https");
  await expect(field).toHaveAttribute("aria-invalid", "true");

  // An address that answers, but not as Practice Studio: saved, and the desk says it cannot use it.
  await field.fill(desk.origin);
  await field.press("Enter");
  await expect(page.getByTestId("connection-status")).toHaveText(/^Offline: /);
});
