import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useId, useState } from "react";
import { useBackend } from "../backend/context";
import { BackendError } from "../backend/error";
import type { AppStatus } from "../bindings/AppStatus";
import { SESSION_KEY } from "../queries";
import { describeConnection } from "./connection";
import { formatDay } from "../format";

function signInProblem(error: BackendError): string {
  switch (error.code) {
    case "wrong_credentials":
      return "That user name and password were not accepted. Check them and try again.";
    case "offline":
      return "The server cannot be reached, and signing in needs it. Check the network, then try again.";
    case "no_keychain":
      return `${error.message}. Ask your administrator to set up the system keychain (Secret Service).`;
    default:
      return error.message;
  }
}

/** The morning's sign-in: user name and password, checked by the server; nothing is kept here. */
export function SignIn({ status }: { status: AppStatus }) {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const errorId = useId();
  const signIn = useMutation({
    mutationFn: () => backend.invoke("sign_in", { username: username.trim(), password }),
    onSuccess: (session) => {
      setPassword("");
      queryClient.setQueryData(SESSION_KEY, session);
    },
  });
  const browserSignIn = useMutation({
    mutationFn: () => backend.invoke("sign_in_with_browser", {}),
    onSuccess: (session) => queryClient.setQueryData(SESSION_KEY, session),
  });
  const error = signIn.error ? BackendError.from(signIn.error) : null;
  const browserError = browserSignIn.error ? BackendError.from(browserSignIn.error) : null;
  const connection = describeConnection(status.api);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate();
  };

  return (
    <section className="card sign-in" aria-labelledby="sign-in-title">
      <p className="eyebrow">{formatDay(status.today)}</p>
      <h1 id="sign-in-title">Sign in to Front Desk</h1>
      <form onSubmit={submit} noValidate>
        <label htmlFor="sign-in-user">User name</label>
        <input
          id="sign-in-user"
          type="email"
          autoComplete="username"
          autoFocus
          required
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          aria-invalid={error?.code === "wrong_credentials" ? true : undefined}
          aria-describedby={error ? errorId : undefined}
        />
        <label htmlFor="sign-in-password">Password</label>
        <input
          id="sign-in-password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          aria-invalid={error?.code === "wrong_credentials" ? true : undefined}
          aria-describedby={error ? errorId : undefined}
        />
        {error && (
          <p id={errorId} className="error" role="alert">
            {signInProblem(error)}
          </p>
        )}
        <button type="submit" disabled={signIn.isPending || username.trim() === "" || password === ""}>
          {signIn.isPending ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <div className="browser-sign-in">
        <p className="or" aria-hidden="true">
          or
        </p>
        <button
          type="button"
          className="secondary"
          onClick={() => browserSignIn.mutate()}
          disabled={browserSignIn.isPending}
          aria-describedby="browser-sign-in-hint"
        >
          {browserSignIn.isPending ? "Waiting for the browser…" : "Sign in with browser"}
        </button>
        <p id="browser-sign-in-hint" className="hint" role={browserSignIn.isPending ? "status" : undefined}>
          {browserSignIn.isPending
            ? "Finish signing in on the page that opened in your browser, then come back here."
            : "Opens your practice's sign-in page in the system browser; your password goes only there."}
        </p>
        {browserError && (
          <p className="error" role="alert">
            {signInProblem(browserError)}
          </p>
        )}
      </div>
      <dl className="facts facts-small">
        <dt>Server</dt>
        <dd className={`tone-${connection.tone}`}>{connection.text}</dd>
        <dt>App version</dt>
        <dd data-testid="app-version">Front Desk {status.version}</dd>
        <dt>Running in</dt>
        <dd>{status.surface === "window" ? "Desktop window" : "Browser mode (this machine only)"}</dd>
      </dl>
    </section>
  );
}
