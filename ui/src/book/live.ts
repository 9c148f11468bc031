// The book stays live: changes from the change feed (the core's `changed` events for
// appointments) refresh it without a reload, and appointments changed by another desk are
// briefly highlighted and stay flagged while they are open here. This desk's own changes are
// remembered for a while so they are not mistaken for someone else's.
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import { useBackend } from "../backend/context";

const FLASH_MS = 3_000;
const OWN_MS = 60_000;
/** How long to wait for this desk's own answer before calling a change someone else's. */
const SETTLE_MS = 1_000;
/** How long an appointment changed elsewhere stays flagged when it is opened here. */
const FLAG_MS = 60_000;

export function useBookLive() {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const own = useRef(new Map<string, number>());
  const [highlighted, setHighlighted] = useState<ReadonlySet<string>>(new Set());
  const [changedElsewhere, setChangedElsewhere] = useState<ReadonlySet<string>>(new Set());

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
          }
          void queryClient.invalidateQueries({ queryKey: ["book_view"] });
          return;
        }
        if (e.type !== "changed" || e.collection !== "appointments") return;
        void queryClient.invalidateQueries({ queryKey: ["book_view"] });
        // Decided a moment later: this desk's own write announces itself (`write_accepted`, or
        // the command's answer) around the same time as its `changed` event.
        const ids = e.ids;
        window.setTimeout(() => {
          const now = Date.now();
          const theirs = ids.filter((id) => now - (own.current.get(id) ?? 0) > OWN_MS);
          if (theirs.length === 0) return;
          setHighlighted((old) => new Set([...old, ...theirs]));
          setChangedElsewhere((old) => new Set([...old, ...theirs]));
          window.setTimeout(() => {
            setHighlighted((old) => new Set([...old].filter((id) => !theirs.includes(id))));
          }, FLASH_MS);
          window.setTimeout(() => {
            setChangedElsewhere((old) => new Set([...old].filter((id) => !theirs.includes(id))));
          }, FLAG_MS);
        }, SETTLE_MS);
      }),
    [backend, queryClient, noteOwn],
  );

  return { highlighted, changedElsewhere, noteOwn };
}
