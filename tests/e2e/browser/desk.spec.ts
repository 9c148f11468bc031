import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { artifactsDir } from "../support/desk.mjs";

function deskUrl(): { url: string; origin: string } {
  const url = process.env.FRONTDESK_URL;
  const origin = process.env.FRONTDESK_ORIGIN;
  if (!url || !origin) throw new Error("global setup did not start frontdesk serve");
  return { url, origin };
}

test("the printed address opens the desk connected to the demo server", async ({ page }) => {
  const { url } = deskUrl();
  await page.goto(url);
  await expect(page.getByRole("status").filter({ hasText: "Connected to demo server" })).toBeVisible();
  await expect(page.getByTestId("app-version")).toHaveText(/^Front Desk \d+\.\d+\.\d+/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Sign in to Front Desk");
  await expect(page.getByText("Monday, November 23, 2026")).toBeVisible();
  await expect(page.getByText("Browser mode (this machine only)")).toBeVisible();
  await page.screenshot({ path: join(artifactsDir, "browser-start-1366x768.png") });
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.screenshot({ path: join(artifactsDir, "browser-start-1920x1080.png") });
});

test("About Front Desk names the version and the commit the desk was built from", async ({ page }) => {
  const { url } = deskUrl();
  await page.goto(url);
  await page.getByRole("button", { name: /^Front Desk \d+\.\d+\.\d+$/ }).click();
  const about = page.getByRole("dialog", { name: "About Front Desk" });
  await expect(about).toBeVisible();
  await expect(about.getByTestId("about-version")).toHaveText(/^\d+\.\d+\.\d+$/);
  // The desk under test is built from this checkout: its commit is one of this repository's
  // (HEAD on a fresh clone; an earlier one when only the UI changed since the last build).
  const commit = ((await about.getByTestId("about-commit").textContent()) ?? "").trim();
  expect(commit).toMatch(/^[0-9a-f]{12}$/);
  expect(execFileSync("git", ["cat-file", "-t", commit]).toString().trim()).toBe("commit");
  await expect(about).toContainText("Browser mode");
  await expect(about).toContainText("Connected to demo server (Practice Studio");
  const axe = await new AxeBuilder({ page }).analyze();
  expect(axe.violations.filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);
  await page.screenshot({ path: join(artifactsDir, "browser-about-1366x768.png") });
  await page.keyboard.press("Escape");
  await expect(about).toBeHidden();
});

test("without the launch key every request is refused", async ({ request }) => {
  const { origin } = deskUrl();
  for (const path of ["/", "/index.html", "/api/events"]) {
    const response = await request.get(`${origin}${path}`);
    expect(response.status(), path).toBe(401);
  }
  const command = await request.post(`${origin}/api/commands/app_status`, { data: {} });
  expect(command.status()).toBe(401);
});

test("the key is kept in a cookie, so a reload without it still works", async ({ page }) => {
  const { url, origin } = deskUrl();
  await page.goto(url);
  await expect(page.getByTestId("connection-status")).toHaveText("Connected to demo server");
  await page.goto(`${origin}/`);
  await expect(page.getByTestId("connection-status")).toHaveText("Connected to demo server");
});
