// The book stays live: changes from the change feed (the core's `changed` events for
// appointments) refresh it without a reload, and appointments changed by another desk are
// briefly highlighted. This desk's own changes are remembered for a while so they are not
// mistaken for someone else's. Whether an appointment open here was changed elsewhere is decided
// by its version (`useEditedVersion`), not by the time of an event.
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import { useBackend } from "../backend/context";

const FLASH_MS = 3_000;
const OWN_MS = 60_000;
/** How long to wait for this desk's own answer before calling a change someone else's. */
const SETTLE_MS = 1_000;

export function useBookLive() {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const own = useRef(new Map<string, number>());
  const [highlighted, setHighlighted] = useState<ReadonlySet<string>>(new Set());
  /** Appointments whose change by this desk the server accepted (a new version that is ours). */
  const [accepted, setAccepted] = useState<ReadonlyMap<string, number>>(new Map());

  /** Counts the changes heard, so a read of the book can tell whether one came while it ran. */
  const changes = useRef(0);

  const noteOwn = useCallback((id: string) => {
    own.current.set(id, Date.now());
  }, []);

  useEffect(
    () =>
      backend.subscribe((event) => {
        if (event.type !== "sync") return;
        const e = event.event;
        if (e.type === "write_accepted" || e.type === "write_refused") {
          if (e.type === "write_accepted") {
            noteOwn(e.entityId);
            if (e.localId) noteOwn(e.localId);
            const at = Date.now();
            setAccepted((old) => new Map([...old, [e.entityId, at], ...(e.localId ? [[e.localId, at] as const] : [])]));
          }
          changes.current += 1;
          void queryClient.invalidateQueries({ queryKey: ["book_view"] });
          return;
        }
        if (e.type !== "changed" || e.collection !== "appointments") return;
        changes.current += 1;
        void queryClient.invalidateQueries({ queryKey: ["book_view"] });
        // Decided a moment later: this desk's own write announces itself (`write_accepted`, or
        // the command's answer) around the same time as its `changed` event.
        const ids = e.ids;
        window.setTimeout(() => {
          const now = Date.now();
          const theirs = ids.filter((id) => now - (own.current.get(id) ?? 0) > OWN_MS);
          if (theirs.length === 0) return;
          setHighlighted((old) => new Set([...old, ...theirs]));
          window.setTimeout(() => {
            setHighlighted((old) => new Set([...old].filter((id) => !theirs.includes(id))));
          }, FLASH_MS);
        }, SETTLE_MS);
      }),
    [backend, queryClient, noteOwn],
  );

  return { highlighted, accepted, noteOwn, changes };
}

/** How many times a read of the book is repeated because a change came while it ran. */
const REREADS = 3;

/**
 * Reads the book, and reads it again when a change was heard while it was being read: that read
 * may have started before the change was stored. Invalidating the query does not cover this
 * when the read is the first of its key (a day just opened, e.g. the day of a booking just
 * made): TanStack Query then lets the read already running answer for it, and the book showed
 * a booking as pending until its next refresh, a minute later.
 */
export async function readSettled<T>(changes: { readonly current: number }, read: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const seen = changes.current;
    const result = await read();
    // Under a stream of changes, the last read is shown; the next change reads again anyway.
    if (changes.current === seen || attempt >= REREADS) return result;
  }
}

/**
 * The version an editor (the selected appointment's panel, the cancel dialog) started from, and
 * whether the cached appointment has moved past it since: changed elsewhere. This desk's own
 * changes move the starting point with them: the command's answer, and the server's acceptance
 * (`accepted`, which bumps the version), so they are never taken for someone else's.
 */
export function useEditedVersion(
  id: string | undefined,
  version: number | undefined,
  accepted: ReadonlyMap<string, number>,
) {
  const [start, setStart] = useState<{
    id: string;
    version: number;
    acceptedAt: number;
    /** This desk just changed it: the next newer version read is its own change. */
    awaitingOurs: boolean;
  } | null>(null);
  const acceptedAt = id ? (accepted.get(id) ?? 0) : 0;
  useEffect(() => {
    if (id === undefined || version === undefined) {
      setStart(null);
      return;
    }
    setStart((old) => {
      // A new editor: start from the version now cached.
      if (!old || old.id !== id || version < old.version) return { id, version, acceptedAt, awaitingOurs: false };
      // This desk's change accepted by the server: its version may be read only after the news
      // of the acceptance, so the next newer version is ours too.
      if (old.acceptedAt !== acceptedAt) return { id, version, acceptedAt, awaitingOurs: true };
      if (old.awaitingOurs && version > old.version) return { ...old, version };
      return old;
    });
  }, [id, version, acceptedAt]);
  /** This desk changed it (the command answered): the versions its change brings are ours. */
  const rebase = useCallback(() => setStart((old) => (old ? { ...old, awaitingOurs: true } : null)), []);
  const changedElsewhere = !!start && start.id === id && version !== undefined && version > start.version;
  return { changedElsewhere, rebase };
}
