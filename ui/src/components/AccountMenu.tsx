// The signed-in user's menu (a disclosure: the name opens it): set an unlock PIN, sign out, and
// for administrators "Remove this device's data". Sign-out says what is still unsent before it
// leaves anything behind; removal says what would be lost before it happens.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import { useBackend } from "../backend/context";
import { BackendError } from "../backend/error";
import type { SessionInfo } from "../bindings/SessionInfo";
import { SESSION_KEY, SHELL_KEYS } from "../queries";
import { Modal } from "./Modal";

const ROLE: Record<string, string> = {
  reception: "Reception",
  clinician: "Clinician",
  billing: "Billing",
  admin: "Administrator",
};

type Open = null | "pin" | "sign-out" | "remove";

function plural(n: number, one: string, many: string) {
  return `${n} ${n === 1 ? one : many}`;
}

export function AccountMenu({ session }: { session: SessionInfo }) {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const [expanded, setExpanded] = useState(false);
  const [open, setOpen] = useState<Open>(null);
  const [pending, setPending] = useState(0);
  const menuId = useId();
  const wrapper = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!expanded) return;
    const onDown = (event: PointerEvent) => {
      if (!wrapper.current?.contains(event.target as Node)) setExpanded(false);
    };
    window.addEventListener("pointerdown", onDown);
    return () => window.removeEventListener("pointerdown", onDown);
  }, [expanded]);

  const leave = () => {
    queryClient.setQueryData(SESSION_KEY, null);
    queryClient.removeQueries({ predicate: (q) => !SHELL_KEYS.has(String(q.queryKey[0])) });
  };
  const signOut = useMutation({
    mutationFn: (leavePending: boolean) => backend.invoke("sign_out", { leavePending }),
    onSuccess: (result) => {
      if (result.outcome === "pending_writes") {
        setPending(result.pending);
        setOpen("sign-out");
      } else {
        setOpen(null);
        leave();
      }
    },
  });
  const choose = (what: Open) => {
    setExpanded(false);
    if (what === "sign-out") signOut.mutate(false);
    else setOpen(what);
  };

  return (
    <div
      className="account"
      ref={wrapper}
      onKeyDown={(e) => {
        if (e.key === "Escape" && expanded) {
          e.stopPropagation();
          setExpanded(false);
        }
      }}
    >
      <button
        type="button"
        className="user-button"
        aria-expanded={expanded}
        aria-controls={menuId}
        aria-label={`${session.name}, ${ROLE[session.role] ?? session.role}: account`}
        onClick={() => setExpanded((x) => !x)}
      >
        <span className="user" data-testid="signed-in-user">
          <span className="user-name">{session.name}</span>
          <span className="user-role">{ROLE[session.role] ?? session.role}</span>
        </span>
        <span aria-hidden="true" className="caret">
          ▾
        </span>
      </button>
      {expanded && (
        <div className="account-menu" id={menuId} role="group" aria-label="Account">
          <button type="button" className="menu-item" onClick={() => choose("pin")}>
            Set an unlock PIN…
          </button>
          <button type="button" className="menu-item" onClick={() => choose("sign-out")} disabled={signOut.isPending}>
            {signOut.isPending ? "Sending your changes…" : "Sign out"}
          </button>
          {session.offers.administer && (
            <button type="button" className="menu-item danger" onClick={() => choose("remove")}>
              Remove this device's data…
            </button>
          )}
        </div>
      )}
      {signOut.error && open === null && (
        <p className="error account-error" role="alert">
          {BackendError.from(signOut.error).message}
        </p>
      )}
      {open === "sign-out" && (
        <Modal title="Some of your changes are not sent yet" onClose={() => setOpen(null)}>
          <p>
            {plural(pending, "change", "changes")} you made on this desk could not reach the server yet. Stay signed in
            and they go out as soon as it can be reached.
          </p>
          <p>Signing out now leaves them on the conflict list, for an administrator to send or drop.</p>
          <div className="actions">
            <button type="button" autoFocus onClick={() => setOpen(null)}>
              Stay signed in
            </button>
            <button type="button" className="secondary" onClick={() => signOut.mutate(true)} disabled={signOut.isPending}>
              Sign out anyway
            </button>
          </div>
        </Modal>
      )}
      {open === "pin" && <PinDialog onClose={() => setOpen(null)} />}
      {open === "remove" && <RemoveDataDialog onClose={() => setOpen(null)} onRemoved={leave} />}
    </div>
  );
}

function PinDialog({ onClose }: { onClose: () => void }) {
  const backend = useBackend();
  const [pin, setPin] = useState("");
  const [again, setAgain] = useState("");
  const errorId = useId();
  const save = useMutation({ mutationFn: () => backend.invoke("set_unlock_pin", { pin }) });
  const mismatch = again !== "" && again !== pin;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!mismatch && pin !== "") save.mutate();
  };
  const error = save.error ? BackendError.from(save.error) : null;
  return (
    <Modal title="Unlock PIN" onClose={onClose}>
      {save.isSuccess ? (
        <>
          <p role="status">Your PIN is set. The lock screen now takes it as well as your password.</p>
          <div className="actions">
            <button type="button" autoFocus onClick={onClose}>
              Done
            </button>
          </div>
        </>
      ) : (
        <form onSubmit={submit} noValidate>
          <p>A PIN of 4 to 12 digits unlocks this desk after a short break. It is kept on this desk only.</p>
          <label htmlFor="pin-new">New PIN</label>
          <input
            id="pin-new"
            type="password"
            inputMode="numeric"
            autoComplete="off"
            autoFocus
            value={pin}
            onChange={(e) => setPin(e.target.value)}
            aria-describedby={error ? errorId : undefined}
          />
          <label htmlFor="pin-again">The PIN again</label>
          <input
            id="pin-again"
            type="password"
            inputMode="numeric"
            autoComplete="off"
            value={again}
            onChange={(e) => setAgain(e.target.value)}
            aria-invalid={mismatch || undefined}
          />
          {(mismatch || error) && (
            <p id={errorId} className="error" role="alert">
              {mismatch ? "The two PINs differ." : (error?.details?.[0]?.issue ?? error?.message)}
            </p>
          )}
          <div className="actions">
            <button type="submit" disabled={save.isPending || pin === "" || again !== pin}>
              Set PIN
            </button>
            <button type="button" className="secondary" onClick={onClose}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}

function RemoveDataDialog({ onClose, onRemoved }: { onClose: () => void; onRemoved: () => void }) {
  const backend = useBackend();
  const data = useQuery({ queryKey: ["device_data"], queryFn: () => backend.invoke("device_data", {}), gcTime: 0 });
  const remove = useMutation({
    mutationFn: (pendingSeen: number) => backend.invoke("remove_device_data", { pendingSeen }),
    onSuccess: onRemoved,
  });
  const error = remove.error ? BackendError.from(remove.error) : null;
  return (
    <Modal title="Remove this device's data" onClose={onClose} className="danger-dialog">
      {data.isPending && <p role="status">Counting what is on this desk…</p>}
      {data.error && (
        <p className="error" role="alert">
          {BackendError.from(data.error).message}
        </p>
      )}
      {data.data && (
        <>
          <p>This removes the encrypted cache from this desk and ends every sign-in made on it:</p>
          <ul className="removal-list">
            <li className={data.data.pending > 0 ? "warn" : undefined}>
              {plural(data.data.pending, "change", "changes")} not yet sent to the server
              {data.data.pending > 0 ? ": they will be lost" : ""}
            </li>
            <li className={data.data.conflicts > 0 ? "warn" : undefined}>
              {plural(data.data.conflicts, "refused change", "refused changes")} on the conflict list
            </li>
            <li>{plural(data.data.patients, "cached patient", "cached patients")} (the server keeps them)</li>
            <li>{plural(data.data.users, "person", "people")} signed in on this desk</li>
          </ul>
          <p>The audit log of who viewed what stays on this desk.</p>
          {error && (
            <p className="error" role="alert">
              {error.message}
            </p>
          )}
          <div className="actions">
            <button type="button" className="secondary" autoFocus onClick={onClose}>
              Keep the data
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => remove.mutate(data.data.pending)}
              disabled={remove.isPending}
            >
              {remove.isPending ? "Removing…" : "Remove this device's data"}
            </button>
          </div>
        </>
      )}
    </Modal>
  );
}
