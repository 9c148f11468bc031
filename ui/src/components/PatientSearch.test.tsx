import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createRef } from "react";
import { describe, expect, it, vi } from "vitest";
import type { Backend } from "../backend";
import { BackendProvider } from "../backend/context";
import type { PatientMatch } from "../bindings/PatientMatch";
import { PatientSearch } from "./PatientSearch";

const smith: PatientMatch = {
  id: "PAT-1",
  mrn: "MRN-100001",
  firstName: "John",
  lastName: "Smith",
  dateOfBirth: "1980-03-04",
  phone: "555-0101",
  status: "active",
  lastVisit: null,
  highlights: [{ field: "lastName", start: 0, end: 4 }],
};
const smyth: PatientMatch = { ...smith, id: "PAT-2", mrn: "MRN-100002", lastName: "Smyth", status: "deceased", highlights: [] };
const recent: PatientMatch = { ...smith, id: "PAT-9", firstName: "Ada", lastName: "Recent", highlights: [] };

/** The search box over `backend`, or over one that answers every query with Smith and Smyth. */
function setup(given?: Backend) {
  const asked: string[] = [];
  const backend: Backend = given ?? {
    transport: "http",
    async invoke(command, args) {
      if (command === "search_patients") {
        asked.push((args as { query: string }).query);
        return [smith, smyth] as never;
      }
      if (command === "recent_patients") return [recent] as never;
      throw new Error(`unexpected ${command}`);
    },
    subscribe: () => () => {},
  };
  const onOpen = vi.fn();
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <BackendProvider backend={backend}>
      <QueryClientProvider client={client}>
        <PatientSearch inputRef={createRef()} onOpen={onOpen} />
      </QueryClientProvider>
    </BackendProvider>,
  );
  return { onOpen, asked };
}

describe("PatientSearch", () => {
  it("offers recent patients when empty, results as you type with the match marked, and opens with arrows and Enter", async () => {
    const { onOpen, asked } = setup();
    const user = userEvent.setup();
    const box = screen.getByRole("combobox", { name: "Search patients" });
    await user.click(box);
    expect(await screen.findByRole("option", { name: /Recent, Ada/ })).toBeVisible();

    await user.type(box, "smiht");
    expect(await screen.findByRole("option", { name: /Smith, John/ })).toBeVisible();
    expect(asked.at(-1)).toBe("smiht");
    const first = screen.getByRole("option", { name: /Smith, John/ });
    expect(first.querySelector("mark")).toHaveTextContent("Smit");
    expect(first).toHaveAttribute("aria-selected", "true");
    expect(screen.getByRole("option", { name: /Smyth/ })).toHaveTextContent("Deceased");

    await user.keyboard("{ArrowDown}");
    expect(box).toHaveAttribute("aria-activedescendant", screen.getByRole("option", { name: /Smyth/ }).id);
    await user.keyboard("{Enter}");
    expect(onOpen).toHaveBeenCalledWith("PAT-2");
    expect(box).toHaveValue("");
  });

  it("chooses from the results of what is typed now when Enter comes before they are back", async () => {
    const { onOpen, user, release } = await typedAheadOfResults();
    // The earlier query's list is still on screen, John Sanchez first: Enter waits.
    await user.keyboard("{Enter}");
    expect(onOpen).not.toHaveBeenCalled();
    release();
    await vi.waitFor(() => expect(onOpen).toHaveBeenCalledWith("PAT-4"));
    expect(onOpen).toHaveBeenCalledTimes(1);
  });

  it("forgets a waiting Enter once Escape is pressed", async () => {
    const { onOpen, user, box, release } = await typedAheadOfResults();
    await user.keyboard("{Enter}{Escape}");
    release();
    // The current results arrive (the list is closed, so they are not shown); nothing opens.
    await vi.waitFor(() => expect(box).toHaveAttribute("aria-expanded", "false"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(onOpen).not.toHaveBeenCalled();
  });
});

/** A backend whose every shorter query answers at once with John Sanchez, while "johnson" itself
 * answers (Ivan Johnson first) only once released. */
function lateJohnson() {
  const sanchez: PatientMatch = { ...smith, id: "PAT-3", firstName: "John", lastName: "Sanchez", highlights: [] };
  const johnson: PatientMatch = { ...smith, id: "PAT-4", firstName: "Ivan", lastName: "Johnson", highlights: [] };
  let release: () => void = () => {};
  const slow = new Promise<void>((resolve) => {
    release = resolve;
  });
  const backend: Backend = {
    transport: "http",
    async invoke(command, args) {
      if (command === "recent_patients") return [] as never;
      if (command !== "search_patients") throw new Error(`unexpected ${command}`);
      if ((args as { query: string }).query !== "johnson") return [sanchez] as never;
      await slow;
      return [johnson, sanchez] as never;
    },
    subscribe: () => () => {},
  };
  return { backend, release };
}

/** "johnson" typed into the search box over `lateJohnson`'s backend; the list still shows the
 * earlier queries' answer (John Sanchez) and the current one is held back until `release`. */
async function typedAheadOfResults() {
  const { backend, release } = lateJohnson();
  const { onOpen } = setup(backend);
  const user = userEvent.setup();
  const box = screen.getByRole("combobox", { name: "Search patients" });
  await user.type(box, "johnson");
  expect(await screen.findByRole("option", { name: /Sanchez, John/ })).toBeVisible();
  return { onOpen, user, box, release };
}
