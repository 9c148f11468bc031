import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { useBackend } from "./backend/context";
import type { AppStatus } from "./bindings/AppStatus";
import { FirstRun } from "./components/FirstRun";
import { StartScreen } from "./components/StartScreen";
import { StatusBar } from "./components/StatusBar";

export const APP_STATUS_KEY = ["app_status"] as const;

export function App() {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const status = useQuery({
    queryKey: APP_STATUS_KEY,
    queryFn: () => backend.invoke("app_status", {}),
  });

  useEffect(
    () =>
      backend.subscribe((event) => {
        if (event.type === "connection_changed") {
          queryClient.setQueryData<AppStatus>(APP_STATUS_KEY, (old) => (old ? { ...old, api: event.api } : old));
        }
      }),
    [backend, queryClient],
  );

  if (status.isPending) {
    return (
      <div className="splash" role="status">
        Starting Front Desk…
      </div>
    );
  }
  if (status.isError) {
    return (
      <div className="splash" role="alert">
        <h1>Front Desk cannot start</h1>
        <p>{status.error.message}</p>
        <button type="button" onClick={() => void status.refetch()}>
          Try again
        </button>
      </div>
    );
  }

  const current = status.data;
  return (
    <div className="app">
      <header className="topbar">
        <span className="brand" aria-label="Front Desk">
          <span className="brand-mark" aria-hidden="true">
            +
          </span>
          Front Desk
        </span>
      </header>
      <main className="main">
        {current.api.state === "not_configured" ? (
          <FirstRun editable={current.apiUrlEditable} />
        ) : (
          <StartScreen status={current} />
        )}
      </main>
      <StatusBar status={current} />
    </div>
  );
}
