// Desktop notifications: the desk tells the session bus's org.freedesktop.Notifications when the
// first sync is complete, and no patient's name or id travels in any notification.
import { expect, test } from "@playwright/test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startServe, scratchDir } from "../support/desk.mjs";

test("the first sync's completion is a desktop notification without patient details", async ({ page }) => {
  test.setTimeout(180_000);
  const log = join(scratchDir("frontdesk-bus-"), "notifications.log");
  const desk = await startServe([], { busMonitor: log });
  try {
    await page.goto(desk.url);
    await page.getByLabel("User name").fill("reception@demo.clinic");
    await page.getByLabel("Password").fill("demo-password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByTestId("last-sync")).toHaveText(/^synced /, { timeout: 120_000 });
    await expect(() => {
      const seen = readFileSync(log, "utf8");
      expect(seen).toContain("member=Notify");
      expect(seen).toContain('string "Front Desk"');
      expect(seen).toContain('string "First sync complete"');
    }).toPass({ timeout: 20_000 });
    // Whatever was notified names no patient: no PAT- id and none of the names the search shows.
    const seen = readFileSync(log, "utf8");
    expect(seen).not.toMatch(/PAT-\d+/);
    const response = await page.request.post(`${desk.origin}/api/commands/search_patients`, { data: { query: "a" } });
    const patients = (await response.json()) as Array<{ firstName: string; lastName: string }>;
    expect(patients.length).toBeGreaterThan(0);
    for (const p of patients) expect(seen).not.toContain(`${p.firstName} ${p.lastName}`);
  } finally {
    await desk.stop();
  }
});
