import { describe, expect, it } from "vitest";
import { shortProviderName } from "./names";

describe("shortProviderName", () => {
  it("keeps the family name alone, without title or credentials", () => {
    expect(shortProviderName("Dr. Grace Kim, MD")).toBe("Kim");
    expect(shortProviderName("Emily Novak, NP")).toBe("Novak");
    expect(shortProviderName("Dr. James O'Connor, DO")).toBe("O'Connor");
  });

  it("gives back a name it cannot shorten", () => {
    expect(shortProviderName("Cher")).toBe("Cher");
    expect(shortProviderName("")).toBe("");
  });
});
