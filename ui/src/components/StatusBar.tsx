import { useEffect, useState } from "react";
import type { AppStatus } from "../bindings/AppStatus";
import type { SyncView } from "../bindings/SyncView";
import { AboutDialog } from "./AboutDialog";
import { describeConnection } from "./connection";

export interface FirstSyncProgress {
  collection: string;
  done: number;
  total: number;
}

/** The always-visible line: online or not, last sync, first-sync progress, pending, conflicts. */
export function StatusBar({
  status,
  view,
  viewAt = 0,
  progress,
}: {
  status: AppStatus;
  /** Sync's figures, and when (ms, this machine's clock) they arrived. */
  view?: SyncView | null;
  viewAt?: number;
  progress?: FirstSyncProgress | null;
}) {
  const connection = describeConnection(status.api);
  const sync = view?.status;
  const now = useNow(sync ? 5_000 : null);
  const since =
    view?.secondsSinceSync == null ? null : view.secondsSinceSync + Math.max(0, Math.round((now - viewAt) / 1000));
  const degraded = sync?.connectivity === "degraded";
  const tone = degraded ? "setup" : connection.tone;
  // 64-bit counts are typed bigint by ts-rs but arrive as JSON numbers.
  const pending = Number(sync?.pending ?? 0);
  const conflicts = Number(sync?.conflicts ?? 0);
  const [about, setAbout] = useState(false);
  const percent = progress && progress.total > 0 ? Math.min(100, Math.round((progress.done / progress.total) * 100)) : null;
  return (
    <footer className="statusbar" aria-label="Status">
      <span className={`dot dot-${tone}`} aria-hidden="true" />
      <span role="status" aria-live="polite" data-testid="connection-status">
        {degraded ? "Degraded: the server answers with errors" : connection.text}
      </span>
      {sync && (
        <>
          <span aria-hidden="true">·</span>
          <span data-testid="last-sync">
            {since === null ? "not synced yet" : `synced ${formatSeconds(since)} ago`}
          </span>
          <span aria-hidden="true">·</span>
          <span data-testid="pending-count" className={pending > 0 ? "pending-text" : undefined}>
            {pending} pending
          </span>
          <span aria-hidden="true">·</span>
          <span data-testid="conflict-count" className={conflicts > 0 ? "tone-offline" : undefined}>
            {conflicts} {conflicts === 1 ? "conflict" : "conflicts"}
          </span>
          {sync.signInNeeded.length > 0 && (
            <span className="tone-setup">· {sync.signInNeeded.length} waiting for sign-in</span>
          )}
        </>
      )}
      <span className="statusbar-spacer" />
      {sync && !sync.firstSyncDone && (
        <span className="first-sync">
          <span id="first-sync-label">First sync{progress ? ` (${progress.collection.replace("_", " ")})` : ""}</span>
          <span
            role="progressbar"
            aria-labelledby="first-sync-label"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={percent ?? undefined}
            className="progress"
          >
            <span className="progress-fill" style={{ width: `${percent ?? 0}%` }} />
          </span>
          <span>{percent === null ? "starting" : `${percent}%`}</span>
        </span>
      )}
      <button type="button" className="link-button" onClick={() => setAbout(true)} aria-haspopup="dialog">
        Front Desk {status.version}
      </button>
      {about && <AboutDialog status={status} onClose={() => setAbout(false)} />}
    </footer>
  );
}

/** The current time, refreshed every `every` ms (so "12 s ago" moves on its own). */
function useNow(every: number | null): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (every === null) return;
    const timer = setInterval(() => setNow(Date.now()), every);
    return () => clearInterval(timer);
  }, [every]);
  return now;
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.round(minutes / 60)} h`;
}
