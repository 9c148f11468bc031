import { describe, expect, it } from "vitest";
import { editableFields, fieldLabel, fieldsToChange, flatten, isMoneyField } from "./conflictFields";

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

describe("conflict field labels", () => {
  it("names a payment's fields in words, without the wrapper", () => {
    expect(fieldLabel("payment.amount")).toBe("Amount");
    expect(fieldLabel("payment.method")).toBe("Method");
    expect(fieldLabel("payment.reference")).toBe("Reference");
    expect(fieldLabel("payment.date")).toBe("Date");
    expect(fieldLabel("invoiceId")).toBe("Invoice");
  });

  it("keeps what a nested key says beyond the wrapper, and spells out keys it does not know", () => {
    expect(fieldLabel("contactInfo.phone")).toBe("Phone");
    expect(fieldLabel("emergencyContact.phone")).toBe("Emergency contact · Phone");
    expect(fieldLabel("insurance.primary.memberId")).toBe("Insurance · Primary · Member id");
  });

  it("knows which fields are money", () => {
    expect(isMoneyField("payment.amount")).toBe(true);
    expect(isMoneyField("payment.reference")).toBe(false);
  });
});
