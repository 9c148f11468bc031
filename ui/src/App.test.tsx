// Component tests of the start and first-run screens. The backend here is an in-memory stand-in
// for the desk (a component test has no desk to talk to); the real one is exercised end to end by
// tests/e2e against `frontdesk serve` and the real window.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "./App";
import type { Backend } from "./backend";
import { BackendProvider } from "./backend/context";
import { BackendError } from "./backend/error";
import type { AppStatus } from "./bindings/AppStatus";
import type { DeskEvent } from "./bindings/DeskEvent";

const connected: AppStatus = {
  version: "0.1.0",
  commit: "0123456789ab",
  surface: "window",
  today: "2026-11-23",
  api: { state: "connected", serverVersion: "0.1.0", demo: true },
  apiUrlEditable: true,
};

function stubDesk(initial: AppStatus) {
  let status = initial;
  const listeners = new Set<(event: DeskEvent) => void>();
  const calls: Array<{ command: string; args: unknown }> = [];
  const backend: Backend = {
    transport: "http",
    async invoke(command, args) {
      calls.push({ command, args });
      if (command === "session") return null as never;
      if (command === "configure_api") {
        const url = (args as { apiUrl: string }).apiUrl;
        if (!url.startsWith("http")) {
          throw new BackendError("invalid_input", "the API address is not usable", "apiUrl");
        }
        status = { ...status, api: { state: "connected", serverVersion: "0.1.0", demo: false } };
      }
      return status as never;
    },
    subscribe(onEvent) {
      listeners.add(onEvent);
      return () => listeners.delete(onEvent);
    },
  };
  const emit = (event: DeskEvent) => listeners.forEach((listener) => listener(event));
  return { backend, calls, emit };
}

function renderApp(backend: Backend) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <BackendProvider backend={backend}>
      <QueryClientProvider client={client}>
        <App />
      </QueryClientProvider>
    </BackendProvider>,
  );
}

describe("App", () => {
  it("shows the sign-in screen with the day, the version and that it is connected to the demo server", async () => {
    renderApp(stubDesk(connected).backend);
    expect(await screen.findByTestId("connection-status")).toHaveTextContent("Connected to demo server");
    expect(screen.getByTestId("app-version")).toHaveTextContent("Front Desk 0.1.0");
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Sign in to Front Desk");
    expect(screen.getByText("Monday, November 23, 2026")).toBeVisible();
    expect(screen.getByLabelText("User name")).toHaveFocus();
  });

  it("turns the status bar to offline when the desk announces an outage", async () => {
    const desk = stubDesk(connected);
    renderApp(desk.backend);
    await screen.findByText("Connected to demo server", { selector: "[data-testid=connection-status]" });
    act(() => desk.emit({ type: "connection_changed", api: { state: "unreachable", problem: "timeout" } }));
    // React Query notifies its observers on the next tick, hence findBy rather than getBy.
    expect(
      await screen.findByText("Offline: the server did not answer in time", {
        selector: "[data-testid=connection-status]",
      }),
    ).toBeVisible();
  });

  it("asks for the server address on first run and shows a refused address's reason", async () => {
    const desk = stubDesk({ ...connected, api: { state: "not_configured" } });
    renderApp(desk.backend);
    const field = await screen.findByLabelText("Practice Studio address");
    const user = userEvent.setup();
    await user.type(field, "ftp://nowhere");
    await user.click(screen.getByRole("button", { name: "Connect" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("the API address is not usable");
    expect(field).toHaveAttribute("aria-invalid", "true");

    await user.clear(field);
    await user.type(field, "https://ps.clinic.example{Enter}");
    expect(await screen.findByTestId("connection-status")).toHaveTextContent("Connected to Practice Studio");
    expect(desk.calls.filter((c) => c.command === "configure_api").at(-1)?.args).toEqual({
      apiUrl: "https://ps.clinic.example",
    });
  });

  it("tells the user the address is the administrator's when it is locked", async () => {
    renderApp(stubDesk({ ...connected, api: { state: "not_configured" }, apiUrlEditable: false }).backend);
    expect(await screen.findByRole("alert")).toHaveTextContent("set by your practice's administrator");
    expect(screen.queryByLabelText("Practice Studio address")).not.toBeInTheDocument();
  });
});
