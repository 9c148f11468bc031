import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { useBackend } from "./backend/context";
import type { AppStatus } from "./bindings/AppStatus";
import type { LockView } from "./bindings/LockView";
import { DeskShell } from "./components/DeskShell";
import { FirstRun } from "./components/FirstRun";
import { LockScreen } from "./components/LockScreen";
import { SignIn } from "./components/SignIn";
import { StatusBar } from "./components/StatusBar";
import { APP_STATUS_KEY, LOCK_KEY, SESSION_KEY, SHELL_KEYS } from "./queries";
import { markOnce } from "./timing";

export { APP_STATUS_KEY } from "./queries";

export function App() {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const status = useQuery({
    queryKey: APP_STATUS_KEY,
    queryFn: () => backend.invoke("app_status", {}),
  });
  const configured = status.data !== undefined && status.data.api.state !== "not_configured";
  // Asked at once, beside the status (which checks the API's health): the desk's start does not
  // wait on one answer before asking the next.
  const session = useQuery({
    queryKey: SESSION_KEY,
    queryFn: () => backend.invoke("session", {}),
  });
  const signedIn = configured && !!session.data;
  // Also at once: a desk restored at start-up is locked, and the lock screen should not wait
  // for the session's answer before asking.
  const lock = useQuery({
    queryKey: LOCK_KEY,
    queryFn: () => backend.invoke("lock_state", {}),
  });

  useEffect(
    () =>
      backend.subscribe((event) => {
        if (event.type === "connection_changed") {
          queryClient.setQueryData<AppStatus>(APP_STATUS_KEY, (old) => (old ? { ...old, api: event.api } : old));
        } else if (event.type === "lock_changed") {
          if (event.locked) {
            // Patient data leaves memory with the screens that showed it.
            queryClient.removeQueries({ predicate: (q) => !SHELL_KEYS.has(String(q.queryKey[0])) });
          }
          queryClient.setQueryData<LockView>(LOCK_KEY, (old) => (old ? { ...old, locked: event.locked } : old));
          void queryClient.invalidateQueries({ queryKey: LOCK_KEY });
        }
      }),
    [backend, queryClient],
  );

  const starting = status.isPending || session.isPending || (signedIn && lock.isPending);
  useEffect(() => {
    if (!starting) markOnce("frontdesk:first-screen");
  }, [starting]);

  if (starting) {
    return (
      <div className="splash" role="status">
        Starting Front Desk…
      </div>
    );
  }
  const failed = status.error ?? session.error ?? (signedIn ? lock.error : null);
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
  if (configured && session.data && lock.data && !lock.data.locked) {
    return <DeskShell status={current} session={session.data} lockAfterSeconds={lock.data.lockAfterSeconds} />;
  }
  const locked = configured && session.data && lock.data?.locked ? { session: session.data, view: lock.data } : null;
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
        {locked ? (
          <LockScreen session={locked.session} view={locked.view} />
        ) : configured ? (
          <SignIn status={current} />
        ) : (
          <FirstRun editable={current.apiUrlEditable} />
        )}
      </main>
      <StatusBar status={current} />
    </div>
  );
}
