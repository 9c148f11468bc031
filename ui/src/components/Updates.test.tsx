// The update strip as an administrator sees it: what is offered and its notes, Install, the
// download's progress, the wait for an idle desk, and a refused update's reason. The backend is an
// in-memory stand-in that sends the desk's `update_changed` events; the rules themselves (admins
// only, verification, waiting for the lock) run in the core and end to end in
// tests/e2e/updater/ (scripts/update-e2e.sh).
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { Backend } from "../backend";
import { BackendProvider } from "../backend/context";
import type { DeskEvent } from "../bindings/DeskEvent";
import type { UpdateView } from "../bindings/UpdateView";
import { UpdateNotice } from "./Updates";

function deskWithUpdate(initial: UpdateView) {
  const listeners = new Set<(event: DeskEvent) => void>();
  const calls: string[] = [];
  let view = initial;
  const backend: Backend = {
    transport: "http",
    async invoke(command) {
      calls.push(command);
      if (command === "update_status") return view as never;
      if (command === "install_update") {
        view = { ...view, state: "downloading", progress: { downloaded: 0 } };
        return view as never;
      }
      throw new Error(`unexpected command ${command}`);
    },
    subscribe(onEvent) {
      listeners.add(onEvent);
      return () => listeners.delete(onEvent);
    },
  };
  const send = (update: UpdateView) => {
    view = update;
    for (const listener of listeners) listener({ type: "update_changed", update });
  };
  return { backend, calls, send };
}

function show(backend: Backend) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <BackendProvider backend={backend}>
        <UpdateNotice />
      </BackendProvider>
    </QueryClientProvider>,
  );
}

const offered: UpdateView = {
  state: "available",
  currentVersion: "1.4.0",
  available: { version: "1.5.0", notes: "Faster week view" },
};

describe("UpdateNotice", () => {
  it("offers the update with its notes, and Install starts the download with progress", async () => {
    const desk = deskWithUpdate(offered);
    show(desk.backend);
    expect(await screen.findByText("Update available: 1.5.0")).toBeTruthy();
    expect(screen.getByText(", Faster week view")).toBeTruthy();
    await userEvent.click(screen.getByRole("button", { name: "Install" }));
    expect(desk.calls).toContain("install_update");
    act(() => desk.send({ ...offered, state: "downloading", progress: { downloaded: 3_000_000, total: 6_000_000 } }));
    const bar = await screen.findByRole("progressbar", { name: "Downloading Front Desk 1.5.0" });
    expect(bar.getAttribute("aria-valuenow")).toBe("50");
    expect(screen.getByText("3.0 MB of 6.0 MB")).toBeTruthy();
    act(() => desk.send({ ...offered, state: "waiting" }));
    expect(await screen.findByText(/installs when this desk\s+is locked \(Front Desk then starts again\) or when Front Desk closes/)).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Install" })).toBeNull();
  });

  it("shows why an update was refused, and offers to try again", async () => {
    const desk = deskWithUpdate({
      ...offered,
      state: "failed",
      error: "the update was refused because its signature does not match this desk's update key",
    });
    show(desk.backend);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toMatch(/The update to 1\.5\.0 was not installed\..*signature does not match/);
    expect(screen.getByRole("button", { name: "Try again" })).toBeTruthy();
  });

  it("shows nothing when the desk is up to date or does not update itself", async () => {
    for (const state of ["up_to_date", "off"] as const) {
      const desk = deskWithUpdate({ state, currentVersion: "1.4.0" });
      const { container, unmount } = show(desk.backend);
      await act(async () => {
        await new Promise((r) => setTimeout(r, 50));
      });
      expect(desk.calls).toContain("update_status");
      expect(container.textContent).toBe("");
      unmount();
    }
  });
});
