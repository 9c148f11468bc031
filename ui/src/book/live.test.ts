import { describe, expect, it } from "vitest";
import { readSettled } from "./live";

describe("readSettled", () => {
  it("answers with one read when no change comes while it runs", async () => {
    const changes = { current: 4 };
    let reads = 0;
    const view = await readSettled(changes, async () => `view ${++reads}`);
    expect(view).toBe("view 1");
    expect(reads).toBe(1);
  });

  it("reads again when a change is heard during a read, and answers with the read after it", async () => {
    const changes = { current: 0 };
    let reads = 0;
    const view = await readSettled(changes, async () => {
      reads += 1;
      // The server's answer to a booking lands while the first read runs.
      if (reads === 1) changes.current += 1;
      return `view ${reads}`;
    });
    expect(view).toBe("view 2");
    expect(reads).toBe(2);
  });

  it("stops after a few reads under a stream of changes and shows the last", async () => {
    const changes = { current: 0 };
    let reads = 0;
    const view = await readSettled(changes, async () => {
      reads += 1;
      changes.current += 1;
      return `view ${reads}`;
    });
    expect(reads).toBe(4);
    expect(view).toBe("view 4");
  });
});
