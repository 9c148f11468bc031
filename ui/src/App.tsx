import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { useBackend } from "./backend/context";
import type { AppStatus } from "./bindings/AppStatus";
import { DeskShell } from "./components/DeskShell";
import { FirstRun } from "./components/FirstRun";
import { SignIn } from "./components/SignIn";
import { StatusBar } from "./components/StatusBar";
import { APP_STATUS_KEY, SESSION_KEY } from "./queries";

export { APP_STATUS_KEY } from "./queries";

export function App() {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const status = useQuery({
    queryKey: APP_STATUS_KEY,
    queryFn: () => backend.invoke("app_status", {}),
  });
  const configured = status.data !== undefined && status.data.api.state !== "not_configured";
  const session = useQuery({
    queryKey: SESSION_KEY,
    queryFn: () => backend.invoke("session", {}),
    enabled: configured,
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

  if (status.isPending || (configured && session.isPending)) {
    return (
      <div className="splash" role="status">
        Starting Front Desk…
      </div>
    );
  }
  const failed = status.error ?? session.error;
  if (failed || !status.data) {
    return (
      <div className="splash" role="alert">
        <h1>Front Desk cannot start</h1>
        <p>{failed?.message}</p>
        <button type="button" onClick={() => void (status.isError ? status.refetch() : session.refetch())}>
          Try again
        </button>
      </div>
    );
  }

  const current = status.data;
  if (configured && session.data) {
    return <DeskShell status={current} session={session.data} />;
  }
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
        {configured ? <SignIn status={current} /> : <FirstRun editable={current.apiUrlEditable} />}
      </main>
      <StatusBar status={current} />
    </div>
  );
}
