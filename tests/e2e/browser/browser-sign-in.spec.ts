// "Sign in with browser" in browser mode: the desk asks the system browser (here a stand-in that
// hands the address to Playwright) to open the server's sign-in page with a PKCE challenge and a
// loopback redirect; the person signs in there; the desk receives the code on its loopback port,
// exchanges it, and shows the signed-in desk.
import { expect, test } from "@playwright/test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { artifactsDir, repoRoot, startServe, scratchDir } from "../support/desk.mjs";

test("a clinician signs in through the browser; the desk never sees the password", async ({ page, context }) => {
  test.setTimeout(120_000);
  const opened = join(scratchDir("frontdesk-opened-"), "urls.txt");
  const recorder = join(repoRoot, "tests", "e2e", "support", "record-url.mjs");
  const desk = await startServe([], {
    env: { BROWSER: `${process.execPath} ${recorder} %s`, FRONTDESK_E2E_OPENED: opened },
  });
  try {
    await page.goto(desk.url);
    await page.getByRole("button", { name: "Sign in with browser" }).click();
    await expect(page.getByRole("button", { name: "Waiting for the browser…" })).toBeDisabled();
    await expect(page.getByRole("status").filter({ hasText: "Finish signing in on the page" })).toBeVisible();
    await page.screenshot({ path: join(artifactsDir, "browser-sign-in-waiting-1366x768.png") });

    await expect.poll(() => existsSync(opened) && readFileSync(opened, "utf8").trim() !== "").toBe(true);
    const address = new URL(readFileSync(opened, "utf8").trim().split("\n")[0] ?? "");
    expect(address.pathname).toBe("/oauth/authorize");
    expect(address.searchParams.get("code_challenge_method")).toBe("S256");
    expect(address.searchParams.get("redirect_uri")).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);

    // The system browser: the server's own page, where the password goes.
    const browser = await context.newPage();
    await browser.goto(address.toString());
    await expect(browser.getByRole("heading", { name: "Sign in to Practice Studio" })).toBeVisible();
    await browser.getByLabel("Email").fill("clinician@demo.clinic");
    await browser.getByLabel("Password").fill("demo-password");
    await browser.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(browser.getByText("You are signed in")).toBeVisible();
    await browser.close();

    await expect(page.getByTestId("signed-in-user")).toContainText("Clinician");
  } finally {
    await desk.stop();
  }
});
