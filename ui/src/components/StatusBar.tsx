import type { AppStatus } from "../bindings/AppStatus";
import { describeConnection } from "./connection";

export function StatusBar({ status }: { status: AppStatus }) {
  const connection = describeConnection(status.api);
  return (
    <footer className="statusbar" aria-label="Status">
      <span className={`dot dot-${connection.tone}`} aria-hidden="true" />
      <span role="status" aria-live="polite" data-testid="connection-status">
        {connection.text}
      </span>
      <span className="statusbar-spacer" />
      <span>Front Desk {status.version}</span>
    </footer>
  );
}
