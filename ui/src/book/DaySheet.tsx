// The day sheet for downtime: each provider's day with the patients' phone numbers, made from
// what the desk already shows (the cache; no network), to print. Nothing is written to disk: the
// browser's print dialog prints (or saves as PDF) the sheet straight from the page.
import type { BookView } from "../bindings/BookView";
import { Modal } from "../components/Modal";
import { STATUS_LABEL } from "./status";
import { hhmm, longDay } from "./time";

export function DaySheet({ view, onClose }: { view: BookView; onClose: () => void }) {
  return (
    <Modal title="Day sheet" onClose={onClose} className="day-sheet-dialog">
      <div className="day-sheet">
        {view.columns.map((c) => (
          <section key={`${c.providerId}-${c.locationId}-${c.date}`} className="day-sheet-provider" aria-label={`${c.providerName}, ${longDay(c.date)}`}>
            <h3>
              {c.providerName} — {c.locationName}, {longDay(c.date)}
            </h3>
            {c.appointments.length === 0 ? (
              <p className="hint">No appointments.</p>
            ) : (
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Patient</th>
                    <th scope="col">Phone</th>
                    <th scope="col">Type</th>
                    <th scope="col">Status</th>
                  </tr>
                </thead>
                <tbody>
                  {c.appointments.map((e) => (
                    <tr key={e.appointment.id}>
                      <td>
                        {hhmm(e.startMinute)}–{hhmm(e.endMinute)}
                      </td>
                      <td>{e.patientName}</td>
                      <td>{e.patientPhone ?? "—"}</td>
                      <td>{e.appointment.type}</td>
                      <td>{STATUS_LABEL[e.appointment.status]}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        ))}
      </div>
      <div className="form-actions no-print">
        <button type="button" onClick={() => window.print()}>
          Print
        </button>
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}
