import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Backend } from "../backend";
import { BackendProvider } from "../backend/context";
import type { NewPatient } from "../bindings/NewPatient";
import type { RegistrationCheck } from "../bindings/RegistrationCheck";
import { RegisterPatient } from "./RegisterPatient";

const twin: RegistrationCheck["duplicates"][number] = {
  patient: {
    id: "PAT-7",
    mrn: "MRN-7",
    firstName: "Ada",
    lastName: "Byron",
    dateOfBirth: "1815-12-10",
    phone: null,
    status: "active",
    lastVisit: null,
    highlights: [],
  },
  likenessPercent: 92,
  reasons: [
    { field: "name", alike: "same" },
    { field: "dateOfBirth", alike: "same" },
  ],
};

function setup() {
  const registered: NewPatient[] = [];
  const backend: Backend = {
    transport: "http",
    async invoke(command, args) {
      const patient = (args as { patient: NewPatient }).patient;
      if (command === "check_new_patient") {
        const problems = patient.dateOfBirth > "2026-11-23" ? [{ field: "dateOfBirth", issue: "must be in the past" }] : [];
        const duplicates = patient.lastName === "Byron" ? [twin] : [];
        return { problems, duplicates } as never;
      }
      if (command === "register_patient") {
        registered.push(patient);
        return { seq: 1, patientId: "local-1", patient: {} } as never;
      }
      throw new Error(`unexpected ${command}`);
    },
    subscribe: () => () => {},
  };
  const onOpen = vi.fn();
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <BackendProvider backend={backend}>
      <QueryClientProvider client={client}>
        <RegisterPatient onOpen={onOpen} />
      </QueryClientProvider>
    </BackendProvider>,
  );
  return { onOpen, registered };
}

describe("RegisterPatient", () => {
  it("shows the rules' problem inline, holds a possible duplicate until the person says it is someone else", async () => {
    const { onOpen, registered } = setup();
    const user = userEvent.setup();
    await user.type(screen.getByLabelText(/First name/), "Ada");
    await user.type(screen.getByLabelText(/Last name/), "Byron");
    await user.type(screen.getByLabelText(/Date of birth/), "2099-01-01");
    expect(await screen.findByText("must be in the past")).toBeVisible();
    expect(screen.getByLabelText(/Date of birth/)).toHaveAttribute("aria-invalid", "true");

    await user.clear(screen.getByLabelText(/Date of birth/));
    await user.type(screen.getByLabelText(/Date of birth/), "1815-12-10");
    await user.selectOptions(screen.getByLabelText(/Gender/), "F");
    const panel = await screen.findByRole("region", { name: "Already registered?" });
    expect(panel).toHaveTextContent("Same name and date of birth");

    // Allergies must be asked: nothing is saved until the answer is given, "none" included.
    await user.click(screen.getByRole("button", { name: "Register patient" }));
    expect(screen.getByRole("radio", { name: "No known allergies" })).toHaveFocus();
    expect(screen.getByRole("alert")).toHaveTextContent("Ask the patient about allergies");
    expect(registered).toHaveLength(0);
    await user.click(screen.getByRole("radio", { name: "Has allergies" }));
    await user.type(screen.getByLabelText("Allergen"), "Penicillin");
    await user.selectOptions(screen.getByLabelText("Severity"), "Severe");
    await user.click(screen.getByRole("button", { name: "Remove allergy 1" }));
    await user.click(screen.getByRole("radio", { name: "No known allergies" }));

    await user.click(screen.getByRole("button", { name: "Register patient" }));
    expect(panel).toHaveFocus();
    expect(registered).toHaveLength(0);

    await user.click(screen.getByRole("button", { name: "None of these: it is a new patient" }));
    await user.click(screen.getByRole("button", { name: "Register anyway" }));
    await vi.waitFor(() => expect(registered).toHaveLength(1));
    expect(registered[0]).toMatchObject({
      firstName: "Ada",
      lastName: "Byron",
      dateOfBirth: "1815-12-10",
      gender: "F",
      allergies: [],
    });
    expect(onOpen).toHaveBeenCalledWith("local-1");
  });

  it("opens the existing chart from the duplicate panel", async () => {
    const { onOpen, registered } = setup();
    const user = userEvent.setup();
    await user.type(screen.getByLabelText(/First name/), "Ada");
    await user.type(screen.getByLabelText(/Last name/), "Byron");
    await user.click(await screen.findByRole("button", { name: "Open Ada Byron's chart" }));
    expect(onOpen).toHaveBeenCalledWith("PAT-7");
    expect(registered).toHaveLength(0);
  });
});
