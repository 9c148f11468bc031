import { describe, expect, it } from "vitest";
import { peopleById, personLabel } from "./people";

describe("people by name", () => {
  const people = peopleById([{ userId: "USR-1003", name: "Bea Billing", role: "billing" }]);

  it("names someone who signed in on the desk, with their role", () => {
    expect(personLabel("USR-1003", people.get("USR-1003"))).toBe("Bea Billing (Billing)");
  });

  it("falls back to the id for someone the desk does not know", () => {
    expect(personLabel("USR-2000", people.get("USR-2000"))).toBe("USR-2000");
    expect(personLabel("USR-2000", { userId: "USR-2000", name: "", role: "admin" })).toBe("USR-2000");
  });

  it("shows a role it has no word for as it is", () => {
    expect(personLabel("USR-1", { userId: "USR-1", name: "Ann Other", role: "auditor" })).toBe("Ann Other (auditor)");
  });
});
