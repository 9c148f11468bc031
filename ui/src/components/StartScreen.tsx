import type { AppStatus } from "../bindings/AppStatus";
import { describeConnection } from "./connection";

const DATE_FORMAT = new Intl.DateTimeFormat(undefined, {
  weekday: "long",
  year: "numeric",
  month: "long",
  day: "numeric",
  timeZone: "UTC",
});

export function formatDay(isoDate: string): string {
  const parsed = new Date(`${isoDate}T00:00:00Z`);
  return Number.isNaN(parsed.getTime()) ? isoDate : DATE_FORMAT.format(parsed);
}

export function StartScreen({ status }: { status: AppStatus }) {
  const connection = describeConnection(status.api);
  return (
    <section className="card" aria-labelledby="start-title">
      <h1 id="start-title">{formatDay(status.today)}</h1>
      <dl className="facts">
        <dt>Server</dt>
        <dd className={`tone-${connection.tone}`}>{connection.text}</dd>
        {status.api.state === "connected" && (
          <>
            <dt>Server version</dt>
            <dd>Practice Studio {status.api.serverVersion}</dd>
          </>
        )}
        <dt>App version</dt>
        <dd data-testid="app-version">Front Desk {status.version}</dd>
        <dt>Running in</dt>
        <dd>{status.surface === "window" ? "Desktop window" : "Browser mode (this machine only)"}</dd>
      </dl>
    </section>
  );
}
