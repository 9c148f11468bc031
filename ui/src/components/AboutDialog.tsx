// "About Front Desk": what an administrator needs to know about this build (version and the commit
// it was built from) and the server it talks to. A native modal <dialog>, like the shortcuts.
import { useEffect, useRef } from "react";
import type { AppStatus } from "../bindings/AppStatus";
import { describeConnection } from "./connection";

export function AboutDialog({ status, onClose }: { status: AppStatus; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  const server = status.api.state === "connected" ? status.api.serverVersion : null;
  return (
    <dialog ref={ref} className="shortcuts about" aria-labelledby="about-title" onClose={onClose}>
      <h2 id="about-title">About Front Desk</h2>
      <dl className="about-facts">
        <dt>Version</dt>
        <dd data-testid="about-version">{status.version}</dd>
        <dt>Commit</dt>
        <dd>
          <code data-testid="about-commit">{status.commit}</code>
        </dd>
        <dt>Running as</dt>
        <dd>{status.surface === "window" ? "Desktop window" : "Browser mode"}</dd>
        <dt>Server</dt>
        <dd>
          {describeConnection(status.api).text}
          {server ? ` (Practice Studio ${server})` : ""}
        </dd>
      </dl>
      <form method="dialog">
        <button type="submit">Close</button>
      </form>
    </dialog>
  );
}
