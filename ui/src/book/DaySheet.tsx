// The day sheet for downtime: each provider's day with the patients' phone numbers, made from
// what the desk already shows (the cache; no network), to print. Nothing is written to disk: the
// browser's print dialog prints (or saves as PDF) the sheet straight from the page.
import { useEffect, useState } from "react";
import { useBackend } from "../backend/context";
import { BackendError } from "../backend";
import type { BookView } from "../bindings/BookView";
import type { BookViewArgs } from "../bindings/BookViewArgs";
import { Modal } from "../components/Modal";
import { STATUS_LABEL } from "./status";
import { hhmm, longDay } from "./time";

export function DaySheet({ view, args, onClose }: { view: BookView; args: BookViewArgs; onClose: () => void }) {
  const backend = useBackend();
  const [pdf, setPdf] = useState<{ url: string; fileName: string } | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  // The PDF lives in this page's memory only, and is let go when the sheet closes.
  useEffect(() => () => (pdf ? URL.revokeObjectURL(pdf.url) : undefined), [pdf]);
  const makePdf = async () => {
    setFailure(null);
    try {
      const sheet = await backend.invoke("day_sheet", args);
      const bytes = Uint8Array.from(atob(sheet.base64), (c) => c.charCodeAt(0));
      setPdf({ url: URL.createObjectURL(new Blob([bytes], { type: "application/pdf" })), fileName: sheet.fileName });
    } catch (error) {
      setFailure(BackendError.from(error).message);
    }
  };
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
      {failure && (
        <p className="error" role="alert">
          {failure}
        </p>
      )}
      <div className="form-actions no-print">
        <button type="button" onClick={() => window.print()}>
          Print
        </button>
        {pdf ? (
          <a className="button-link" href={pdf.url} download={pdf.fileName}>
            Save the PDF
          </a>
        ) : (
          <button type="button" className="secondary" onClick={() => void makePdf()}>
            Make a PDF
          </button>
        )}
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}
