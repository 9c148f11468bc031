// Stands in for the system browser in the end-to-end tests (`BROWSER="node record-url.mjs %s"`):
// it writes the address the desk asked to open to the file named by FRONTDESK_E2E_OPENED, where
// the test picks it up and opens it in Playwright's browser, as a person would.
import { appendFileSync } from "node:fs";

const target = process.env.FRONTDESK_E2E_OPENED;
const url = process.argv[2];
if (!target || !url) process.exit(2);
appendFileSync(target, `${url}\n`);
