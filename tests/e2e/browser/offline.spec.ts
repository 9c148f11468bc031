// The network goes down at the desk: a registration is saved anyway, shown pending, found by the
// search, and confirmed once the server is back. The server here runs on its own, on a file, so it
// can be stopped and started again with its data.
import { expect, test } from "@playwright/test";
import { join } from "node:path";
import { artifactsDir, freeLoopbackPort, startApiServer, startServe, scratchDir } from "../support/desk.mjs";


test("a registration made while the server is down is pending, searchable, and confirmed when it is back", async ({
  page,
}) => {
  test.setTimeout(240_000);
  const port = await freeLoopbackPort();
  const database = join(scratchDir("frontdesk-api-"), "practice-studio.db");
  let api = await startApiServer({ port, database });
  const desk = await startServe(["--api-url", api.url], { demo: false });
  try {
    await page.goto(desk.url);
    await page.getByLabel("User name").fill("reception@demo.clinic");
    await page.getByLabel("Password").fill("demo-password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByTestId("signed-in-user")).toContainText("Reception");
    await expect(page.getByTestId("last-sync")).toHaveText(/^synced /, { timeout: 90_000 });

    await api.stop();
    await expect(page.getByTestId("connection-status")).toHaveText(/^Offline/, { timeout: 20_000 });

    const lastName = `Offline${Date.now().toString(36).replace(/[0-9]/g, "x")}`;
    await page.keyboard.press("Control+N");
    await page.getByLabel("First name").fill("Theodora");
    await page.getByLabel("Last name").fill(lastName);
    await page.getByLabel("Date of birth").fill("1972-08-14");
    await page.getByLabel("Gender").selectOption("F");
    await page.getByRole("radio", { name: "No known allergies" }).check();
    await page.getByLabel("Phone").fill("555-010-4242");
    await page.getByRole("button", { name: "Register patient" }).click();
    await expect(page.getByRole("heading", { level: 1, name: `Theodora ${lastName}` })).toBeVisible();
    await expect(page.getByText("Pending confirmation")).toBeVisible();
    await expect(page.getByTestId("pending-count")).toHaveText("1 pending", { timeout: 10_000 });
    await page.screenshot({ path: join(artifactsDir, "browser-offline-pending-1366x768.png") });

    // The cache answers the search while the server is away.
    await page.keyboard.press("Control+K");
    await page.getByRole("combobox", { name: "Search patients" }).pressSequentially(lastName.toLowerCase());
    await expect(page.getByRole("option", { name: new RegExp(lastName) })).toBeVisible();
    await page.keyboard.press("Escape");

    api = await startApiServer({ port, database });
    await expect(page.getByTestId("pending-count")).toHaveText("0 pending", { timeout: 150_000 });
    await expect(page.getByText("Pending confirmation")).toHaveCount(0, { timeout: 10_000 });
    await expect(page.getByTestId("connection-status")).not.toHaveText(/^Offline/, { timeout: 20_000 });
    const onServer = await fetch(`${api.url}/api/v1/patients?search=${lastName}`, {
      headers: { Authorization: "ApiKey demo-api-key" },
    }).then((r) => r.json() as Promise<{ total: number }>);
    expect(onServer.total).toBe(1);
  } finally {
    desk.stop();
    await api.stop();
  }
});
