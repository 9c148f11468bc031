// User Timing marks of the desk's start, read by `make bench` (tests/e2e/bench/window.mjs) to say
// where a cold start's time goes: WebKit's start, the desk's page, the person, the unlock.

/** Marks `name` the first time it is reached in this page's life. */
export function markOnce(name: "frontdesk:first-screen" | "frontdesk:desk-shown"): void {
  if (typeof performance === "undefined" || typeof performance.mark !== "function") return;
  if (performance.getEntriesByName(name, "mark").length === 0) performance.mark(name);
}
