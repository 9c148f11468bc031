import { describe, expect, it } from "vitest";
import { editableFields, fieldsToChange, flatten } from "./conflictFields";

describe("conflict fields", () => {
  const change = { firstName: "Ann", contactInfo: { phone: "555-0100", address: { city: "Springfield" } }, amount: 12.5 };

  it("flattens nested values to dotted keys and skips links", () => {
    expect(flatten({ ...change, _links: { self: { href: "/x" } } })).toEqual([
      ["firstName", "Ann"],
      ["contactInfo.phone", "555-0100"],
      ["contactInfo.address.city", "Springfield"],
      ["amount", "12.5"],
    ]);
  });

  it("puts edited text back in the change's shape, numbers as numbers", () => {
    const edited = Object.fromEntries(editableFields(change));
    edited["contactInfo.phone"] = "555-0199";
    edited.amount = "10";
    expect(fieldsToChange(change, edited)).toEqual({
      firstName: "Ann",
      contactInfo: { phone: "555-0199", address: { city: "Springfield" } },
      amount: 10,
    });
    // The original is left alone.
    expect(change.contactInfo.phone).toBe("555-0100");
  });

  it("keeps text that no longer parses as a number, for the server's rules to name", () => {
    expect(fieldsToChange({ amount: 5 }, { amount: "five" })).toEqual({ amount: "five" });
  });
});
