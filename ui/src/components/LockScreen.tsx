// The lock screen: who is signed in, one field for their password or PIN, and a way to hand the
// desk to someone else. Nothing about any patient: the desk's screens are unmounted and their
// data dropped from memory before this shows, and the desk refuses patient data until unlocked.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useId, useState } from "react";
import { useBackend } from "../backend/context";
import { BackendError } from "../backend/error";
import type { LockView } from "../bindings/LockView";
import type { SessionInfo } from "../bindings/SessionInfo";
import { LOCK_KEY, SESSION_KEY, SHELL_KEYS } from "../queries";

export function unlockProblem(error: BackendError, view: LockView): string {
  switch (error.code) {
    case "wrong_credentials":
      return view.localTriesLeft > 0
        ? "That was not accepted. Try again."
        : "That was not accepted. After too many tries only your password, checked by the server, unlocks the desk.";
    case "offline":
      return "Too many tries: the server has to check your password now, and it cannot be reached. Switch user, or try again when the network is back.";
    default:
      return error.message;
  }
}

export function LockScreen({ session, view }: { session: SessionInfo; view: LockView }) {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const [secret, setSecret] = useState("");
  const errorId = useId();
  const unlock = useMutation({
    mutationFn: () => backend.invoke("unlock", { secret }),
    onSettled: () => setSecret(""),
    onSuccess: () => queryClient.setQueryData<LockView>(LOCK_KEY, { ...view, locked: false }),
    onError: () => void queryClient.invalidateQueries({ queryKey: LOCK_KEY }),
  });
  const switchUser = useMutation({
    mutationFn: () => backend.invoke("switch_user", {}),
    onSuccess: () => {
      queryClient.setQueryData(SESSION_KEY, null);
      queryClient.removeQueries({ predicate: (q) => !SHELL_KEYS.has(String(q.queryKey[0])) });
    },
  });
  const error = unlock.error ? BackendError.from(unlock.error) : null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (secret !== "") unlock.mutate();
  };
  const what = view.hasPin ? "Password or PIN" : "Password";

  return (
    <section className="card lock-screen" aria-labelledby="lock-title">
      <p className="eyebrow">Front Desk is locked</p>
      <h1 id="lock-title">{session.name}</h1>
      <p className="who">{session.email}</p>
      <form onSubmit={submit} noValidate>
        <label htmlFor="unlock-secret">{what}</label>
        <input
          id="unlock-secret"
          type="password"
          autoComplete="current-password"
          autoFocus
          value={secret}
          onChange={(e) => setSecret(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
        />
        {error && (
          <p id={errorId} className="error" role="alert">
            {unlockProblem(error, view)}
          </p>
        )}
        <div className="actions">
          <button type="submit" disabled={unlock.isPending || secret === ""}>
            {unlock.isPending ? "Checking…" : "Unlock"}
          </button>
          <button type="button" className="secondary" onClick={() => switchUser.mutate()} disabled={switchUser.isPending}>
            Switch user
          </button>
        </div>
      </form>
    </section>
  );
}
