import { startServe } from "../support/desk.mjs";

// One `frontdesk serve --demo` for the suite; its address reaches the tests through the
// environment, which Playwright's workers inherit.
export default async function globalSetup() {
  const desk = await startServe();
  process.env.FRONTDESK_URL = desk.url;
  process.env.FRONTDESK_ORIGIN = desk.origin;
  return async () => desk.stop();
}
