import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useId, useState } from "react";
import { APP_STATUS_KEY } from "../App";
import { useBackend } from "../backend/context";
import { BackendError } from "../backend/error";

export function FirstRun({ editable }: { editable: boolean }) {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const [apiUrl, setApiUrl] = useState("");
  const inputId = useId();
  const errorId = useId();
  const connect = useMutation({
    mutationFn: (url: string) => backend.invoke("configure_api", { apiUrl: url }),
    onSuccess: (status) => queryClient.setQueryData(APP_STATUS_KEY, status),
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    connect.mutate(apiUrl.trim());
  };
  const error = connect.error ? BackendError.from(connect.error) : null;

  return (
    <section className="card first-run" aria-labelledby="first-run-title">
      <h1 id="first-run-title">Connect to Practice Studio</h1>
      {editable ? (
        <form onSubmit={submit} noValidate>
          <label htmlFor={inputId}>Practice Studio address</label>
          <input
            id={inputId}
            type="url"
            inputMode="url"
            placeholder="https://practicestudio.example.org"
            autoComplete="url"
            required
            autoFocus
            value={apiUrl}
            onChange={(e) => setApiUrl(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? errorId : undefined}
          />
          <p className="hint">Your practice's administrator can tell you this address.</p>
          {error && (
            <p id={errorId} className="error" role="alert">
              {error.message}
            </p>
          )}
          <button type="submit" disabled={connect.isPending || apiUrl.trim() === ""}>
            {connect.isPending ? "Connecting…" : "Connect"}
          </button>
        </form>
      ) : (
        <p role="alert">
          The server address is set by your practice's administrator and is missing. Ask them to set
          api_url in /etc/frontdesk/config.toml.
        </p>
      )}
    </section>
  );
}
