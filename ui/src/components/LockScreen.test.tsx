// The lock as the UI shows it: the desk's screens go away (and their data with them) when the desk
// announces the lock, the lock screen names only the user, and a refused unlock says why. The
// backend is an in-memory stand-in; the lock itself is enforced and tested in the Rust command
// layer (src-tauri/tests/lock.rs) and end to end (tests/e2e/browser/lock.spec.ts).
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import type { Backend } from "../backend";
import { BackendProvider } from "../backend/context";
import { BackendError } from "../backend/error";
import type { DeskEvent } from "../bindings/DeskEvent";
import type { LockView } from "../bindings/LockView";
import type { SessionInfo } from "../bindings/SessionInfo";

const session: SessionInfo = {
  userId: "USR-1",
  name: "Rita Reception",
  email: "reception@demo.clinic",
  role: "reception",
  scopes: ["read:patients", "write:patients"],
  offers: {
    registerPatients: true,
    editPatients: true,
    readAppointments: false,
    bookAppointments: false,
    readRecords: false,
    readInvoices: false,
    takePayments: false,
    administer: false,
  },
};

function stubDesk() {
  let lock: LockView = { locked: false, lockAfterSeconds: 300, hasPin: false, localTriesLeft: 5 };
  const listeners = new Set<(event: DeskEvent) => void>();
  const calls: string[] = [];
  const backend: Backend = {
    transport: "http",
    async invoke(command, args) {
      calls.push(command);
      switch (command) {
        case "app_status":
          return {
            version: "0.1.0",
            commit: "0123456789ab",
            surface: "browser",
            today: "2026-11-23",
            api: { state: "connected", serverVersion: "0.1.0", demo: true },
            apiUrlEditable: true,
          } as never;
        case "session":
          return session as never;
        case "lock_state":
          return lock as never;
        case "sync_status":
          return null as never;
        case "recent_patients":
          if (lock.locked) throw new BackendError("locked", "the desk is locked");
          return [
            {
              id: "PAT-1",
              mrn: "MRN-1",
              firstName: "Ada",
              lastName: "Lovelace",
              dateOfBirth: "1980-01-01",
              phone: null,
              status: "active",
              lastVisit: null,
              highlights: [],
            },
          ] as never;
        case "unlock": {
          if ((args as { secret: string }).secret !== "demo-password") {
            lock = { ...lock, localTriesLeft: lock.localTriesLeft - 1 };
            throw new BackendError("wrong_credentials", "not accepted");
          }
          lock = { ...lock, locked: false };
          return null as never;
        }
        default:
          return [] as never;
      }
    },
    subscribe(onEvent) {
      listeners.add(onEvent);
      return () => listeners.delete(onEvent);
    },
  };
  const lockNow = () => {
    lock = { ...lock, locked: true };
    listeners.forEach((l) => l({ type: "lock_changed", locked: true }));
  };
  return { backend, calls, lockNow };
}

function renderApp(backend: Backend) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <BackendProvider backend={backend}>
      <QueryClientProvider client={client}>
        <App />
      </QueryClientProvider>
    </BackendProvider>,
  );
  return client;
}

describe("LockScreen", () => {
  it("hides every patient when the desk locks and comes back after the right password", async () => {
    const desk = stubDesk();
    const client = renderApp(desk.backend);
    expect(await screen.findByRole("list", { name: "Recently opened patients" })).toHaveTextContent("Lovelace");

    act(() => desk.lockNow());
    const field = await screen.findByLabelText("Password");
    expect(screen.queryAllByText(/Lovelace/)).toHaveLength(0);
    expect(screen.queryByRole("combobox")).not.toBeInTheDocument();
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Rita Reception");
    // Nothing about a patient is left in memory either.
    expect(client.getQueryCache().findAll().map((q) => String(q.queryKey[0]))).not.toContain("recent_patients");

    const user = userEvent.setup();
    await user.type(field, "wrong{Enter}");
    expect(await screen.findByRole("alert")).toHaveTextContent("That was not accepted. Try again.");
    expect(field).toHaveValue("");

    await user.type(field, "demo-password{Enter}");
    expect(await screen.findByRole("list", { name: "Recently opened patients" })).toHaveTextContent("Lovelace");
    expect(desk.calls.filter((c) => c === "unlock")).toHaveLength(2);
  });

  it("says 'Password or PIN' when the user chose a PIN", async () => {
    const desk = stubDesk();
    const original = desk.backend.invoke;
    desk.backend.invoke = (async (command: string, args: unknown) =>
      command === "lock_state"
        ? { locked: true, lockAfterSeconds: 300, hasPin: true, localTriesLeft: 5 }
        : original(command as never, args as never)) as Backend["invoke"];
    renderApp(desk.backend);
    expect(await screen.findByLabelText("Password or PIN")).toHaveFocus();
    expect(screen.getByRole("button", { name: "Switch user" })).toBeVisible();
  });
});
