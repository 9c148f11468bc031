import { describe, expect, it } from "vitest";
import { describeReasons } from "./duplicates";
import { toNewPatient } from "./RegisterPatient";

describe("describeReasons", () => {
  it("says which fields are the same, swapped or similar", () => {
    expect(
      describeReasons([
        { field: "name", alike: "same" },
        { field: "dateOfBirth", alike: "same" },
        { field: "phone", alike: "similar" },
        { field: "email", alike: "different" },
      ]),
    ).toBe("Same name and date of birth; similar phone");
    expect(describeReasons([{ field: "dateOfBirth", alike: "swapped" }])).toBe("Date of birth swapped");
  });
});

describe("toNewPatient", () => {
  it("trims, leaves out empty contact fields, and sends an address only when one is typed", () => {
    const base = {
      firstName: " Ada ",
      lastName: "Lovelace",
      dateOfBirth: "1815-12-10",
      gender: "F",
      phone: "",
      email: " ada@example.org ",
      line1: "",
      city: "",
      state: "",
      postalCode: "",
    };
    expect(toNewPatient(base)).toEqual({
      firstName: "Ada",
      lastName: "Lovelace",
      dateOfBirth: "1815-12-10",
      gender: "F",
      contactInfo: { email: "ada@example.org" },
    });
    expect(toNewPatient({ ...base, city: "Springfield" }).contactInfo.address).toEqual({
      line1: "",
      city: "Springfield",
      state: "",
      postalCode: "",
    });
  });
});
