// Today: the flow of patients through the clinic. Who is waiting (and for how long since check
// in), who is in a room with whom, who is late, who is next; check in, room and finish from here
// with one key. Live: the book's changes refresh it, and the minutes tick on their own.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type KeyboardEvent, useEffect, useState } from "react";
import { useBackend } from "../backend/context";
import { BackendError } from "../backend";
import type { AppointmentStatus } from "../bindings/AppointmentStatus";
import type { BookColumn } from "../bindings/BookColumn";
import type { BookEntry } from "../bindings/BookEntry";
import { readSettled, useBookLive } from "./live";
import { STATUS_KEY, moveLabel } from "./status";
import { hhmm, longDay, minutesSince } from "./time";
import "./book.css";

interface Row {
  entry: BookEntry;
  column: BookColumn;
}

const SOON_MINUTES = 60;

export function FlowBoard({ today, canBook }: { today: string; canBook: boolean }) {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const [now, setNow] = useState(() => Date.now());
  const [failure, setFailure] = useState<string | null>(null);
  const { highlighted, noteOwn, changes } = useBookLive();
  const args = { date: today, days: 1 };
  const book = useQuery({
    queryKey: ["book_view", args],
    queryFn: () => readSettled(changes, () => backend.invoke("book_view", args)),
    refetchInterval: 30_000,
  });
  // Minutes are counted on the desk's clock (a demo desk may stand on another day than this
  // machine), carried forward by this machine's since the answer came.
  const deskNow = book.data ? now + (Date.parse(book.data.now) - book.dataUpdatedAt) : now;
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 15_000);
    return () => window.clearInterval(timer);
  }, []);

  const rows: Row[] = (book.data?.columns ?? []).flatMap((column) =>
    column.appointments.map((entry) => ({ entry, column })),
  );
  const nowMinute = (c: BookColumn) => c.nowMinute ?? 0;
  const waiting = rows
    .filter((r) => r.entry.appointment.status === "checked_in")
    .sort((a, b) => (a.entry.appointment.checkedInAt ?? "").localeCompare(b.entry.appointment.checkedInAt ?? ""));
  const inRoom = rows.filter((r) => r.entry.appointment.status === "in_room");
  const late = rows.filter(
    (r) => r.entry.appointment.status === "scheduled" && r.entry.startMinute < nowMinute(r.column),
  );
  const next = rows
    .filter(
      (r) =>
        r.entry.appointment.status === "scheduled" &&
        r.entry.startMinute >= nowMinute(r.column) &&
        r.entry.startMinute < nowMinute(r.column) + SOON_MINUTES,
    )
    .sort((a, b) => a.entry.startMinute - b.entry.startMinute);

  const move = async (row: Row, to: AppointmentStatus) => {
    setFailure(null);
    try {
      const pending = await backend.invoke("set_appointment_status", { appointmentId: row.entry.appointment.id, status: to });
      noteOwn(pending.appointment.id);
      await queryClient.invalidateQueries({ queryKey: ["book_view"] });
    } catch (error) {
      const e = BackendError.from(error);
      setFailure(e.details?.map((d) => d.issue).join("; ") || e.message);
    }
  };
  const onRowKey = (event: KeyboardEvent<HTMLTableRowElement>, row: Row) => {
    if (!canBook || event.ctrlKey || event.altKey || event.metaKey) return;
    const to = (Object.entries(STATUS_KEY) as Array<[AppointmentStatus, string]>).find(
      ([, k]) => k === event.key.toUpperCase(),
    )?.[0];
    if (to && row.entry.nextStatuses.includes(to)) {
      event.preventDefault();
      void move(row, to);
    }
  };

  const table = (title: string, list: Row[], what: (r: Row) => string, empty: string) => (
    <section className="flow-section" aria-labelledby={`flow-${title.toLowerCase().replace(/\s+/g, "-")}`}>
      <h2 id={`flow-${title.toLowerCase().replace(/\s+/g, "-")}`}>
        {title} <span className="count">{list.length}</span>
      </h2>
      {list.length === 0 ? (
        <p className="hint">{empty}</p>
      ) : (
        <table className="table flow-table">
          <caption className="visually-hidden">{title}</caption>
          <thead>
            <tr>
              <th scope="col">Patient</th>
              <th scope="col">Booked</th>
              <th scope="col">With</th>
              <th scope="col">{title === "Late" ? "Late by" : title === "Next up" ? "Type" : "Since"}</th>
              {canBook && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {list.map((r) => (
              <tr
                key={r.entry.appointment.id}
                tabIndex={0}
                className={highlighted.has(r.entry.appointment.id) ? "appt-flash" : undefined}
                onKeyDown={(e) => onRowKey(e, r)}
              >
                <th scope="row" className="flow-patient">
                  {r.entry.patientName}
                </th>
                <td className="flow-nowrap">{hhmm(r.entry.startMinute)}</td>
                <td>
                  {r.column.providerName}
                  <span className="flow-where">{r.column.locationName}</span>
                </td>
                <td className="flow-nowrap">{what(r)}</td>
                {canBook && (
                  <td>
                    <div className="flow-actions">
                      {r.entry.nextStatuses
                        .filter((s) => s !== "cancelled")
                        .map((to) => (
                          <button
                            key={to}
                            type="button"
                            className="secondary"
                            aria-keyshortcuts={STATUS_KEY[to]}
                            aria-label={`${moveLabel(r.entry.appointment.status, to)}: ${r.entry.patientName}`}
                            onClick={() => void move(r, to)}
                          >
                            {moveLabel(r.entry.appointment.status, to)}
                          </button>
                        ))}
                    </div>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );

  return (
    <section className="flow" aria-labelledby="flow-title">
      <div className="screen-head">
        <h1 id="flow-title">Today</h1>
        <span className="muted">{longDay(today)}</span>
      </div>
      {failure && (
        <p className="error" role="alert">
          {failure}
        </p>
      )}
      {book.error && (
        <p className="error" role="alert">
          {BackendError.from(book.error).message}
        </p>
      )}
      <div className="flow-grid">
        {table(
          "Waiting",
          waiting,
          (r) => `${minutesSince(r.entry.appointment.checkedInAt, deskNow)} min waiting`,
          "Nobody is waiting.",
        )}
        {table(
          "In a room",
          inRoom,
          (r) => `${minutesSince(r.entry.appointment.roomedAt, deskNow)} min in room`,
          "Nobody is in a room.",
        )}
        {table("Late", late, (r) => `${nowMinute(r.column) - r.entry.startMinute} min`, "Nobody is late.")}
        {table("Next up", next, (r) => r.entry.appointment.type, "Nobody is due in the next hour.")}
      </div>
    </section>
  );
}
