// In-app updates, for administrators only (the desk refuses the commands to anyone else).
// `UpdateNotice` is a quiet strip above the current screen, never a dialog: "Update available:
// <version>, <notes>" with Install; then the download's progress; then that the verified update
// waits for the desk to be locked or closed (nobody is interrupted); a refused update says why.
// `UpdatesPanel` (Admin) shows the running version and commit, the last check, and Check now.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { useBackend } from "../backend/context";
import type { UpdateView } from "../bindings/UpdateView";
import { formatDateTime } from "../format";
import { APP_STATUS_KEY } from "../queries";

export const UPDATE_KEY = ["update_status"] as const;

/** The desk's update state, kept fresh by the desk's `update_changed` events. */
function useUpdates() {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const query = useQuery({
    queryKey: UPDATE_KEY,
    queryFn: () => backend.invoke("update_status", {}),
  });
  useEffect(
    () =>
      backend.subscribe((event) => {
        if (event.type === "update_changed") queryClient.setQueryData<UpdateView>(UPDATE_KEY, event.update);
      }),
    [backend, queryClient],
  );
  const install = useMutation({
    mutationFn: () => backend.invoke("install_update", {}),
    onSuccess: (view) => queryClient.setQueryData(UPDATE_KEY, view),
  });
  const check = useMutation({
    mutationFn: () => backend.invoke("check_for_update", {}),
    onSuccess: (view) => queryClient.setQueryData(UPDATE_KEY, view),
  });
  return { query, install, check };
}

/** The desk's message as a sentence of its own. */
function sentence(text: string | undefined): string {
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

export function UpdateNotice() {
  const { query, install } = useUpdates();
  const view = query.data;
  if (!view || view.state === "off" || view.state === "up_to_date" || !view.available) return null;
  const { version, notes } = view.available;
  const failed = view.state === "failed";
  const progress = view.progress;
  const percent =
    progress?.total && progress.total > 0 ? Math.min(100, Math.round((progress.downloaded / progress.total) * 100)) : null;
  return (
    <section
      className={`update-notice${failed ? " update-failed" : ""}`}
      aria-label="Update"
      data-testid="update-notice"
      data-state={view.state}
    >
      {view.state === "available" && (
        <>
          <p role="status">
            <strong>Update available: {version}</strong>
            {notes ? <span className="update-notes">, {notes}</span> : null}
          </p>
          <button type="button" onClick={() => install.mutate()} disabled={install.isPending}>
            Install
          </button>
        </>
      )}
      {view.state === "downloading" && (
        <p role="status" className="update-progress">
          <span id="update-progress-label">Downloading Front Desk {version}</span>
          <span
            role="progressbar"
            aria-labelledby="update-progress-label"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={percent ?? undefined}
            className="progress"
          >
            <span className="progress-fill" style={{ width: `${percent ?? 0}%` }} />
          </span>
          <span>
            {progress ? megabytes(progress.downloaded) : ""}
            {progress?.total ? ` of ${megabytes(progress.total)}` : ""}
          </span>
        </p>
      )}
      {view.state === "waiting" && (
        <p role="status">
          <strong>Front Desk {version} is downloaded and its signature verified.</strong> It installs when this desk
          is locked (Front Desk then starts again) or when Front Desk closes. Nobody is interrupted.
        </p>
      )}
      {(view.state === "installing" || view.state === "relaunching") && (
        <p role="status">
          <strong>Installing Front Desk {version}…</strong> Front Desk starts again in a moment.
        </p>
      )}
      {failed && (
        <>
          <p role="alert">
            <strong>The update to {version} was not installed.</strong> <span data-testid="update-error">{sentence(view.error)}</span>
          </p>
          <button type="button" className="secondary" onClick={() => install.mutate()} disabled={install.isPending}>
            Try again
          </button>
        </>
      )}
      {install.error && <p role="alert">{install.error.message}</p>}
    </section>
  );
}

const STATE_TEXT: Record<UpdateView["state"], string> = {
  off: "This desk does not update itself: it is in browser or demo mode, has no update_url, or was built without an update key. Install new packages, or serve the apt repository (README: Packages and updates).",
  up_to_date: "Up to date.",
  available: "An update is available (see above the screen).",
  downloading: "Downloading an update.",
  waiting: "An update is verified and waits until the desk is locked or closed.",
  installing: "Installing an update.",
  relaunching: "Starting the new version.",
  failed: "The last update was not installed (see above the screen).",
};

export function UpdatesPanel() {
  const backend = useBackend();
  const { query, check } = useUpdates();
  const status = useQuery({ queryKey: APP_STATUS_KEY, queryFn: () => backend.invoke("app_status", {}) }).data;
  const view = query.data;
  return (
    <section className="card updates-panel" aria-labelledby="updates-title">
      <h2 id="updates-title">Updates</h2>
      <dl className="about-facts">
        <dt>Version</dt>
        <dd data-testid="updates-version">{view?.currentVersion ?? status?.version}</dd>
        <dt>Commit</dt>
        <dd>
          <code>{status?.commit}</code>
        </dd>
        <dt>State</dt>
        <dd data-testid="updates-state">{view ? STATE_TEXT[view.state] : query.error ? query.error.message : "…"}</dd>
        {view?.lastChecked && (
          <>
            <dt>Last checked</dt>
            <dd>{formatDateTime(view.lastChecked)}</dd>
          </>
        )}
        {view?.checkError && (
          <>
            <dt>Last check</dt>
            <dd className="tone-setup">{view.checkError} (tried again later)</dd>
          </>
        )}
      </dl>
      {view && view.state !== "off" && (
        <button
          type="button"
          className="secondary"
          onClick={() => check.mutate()}
          disabled={check.isPending || !["up_to_date", "available", "failed"].includes(view.state)}
        >
          {check.isPending ? "Checking…" : "Check now"}
        </button>
      )}
      {check.error && <p role="alert">{check.error.message}</p>}
    </section>
  );
}
