// The administrator's audit log: who opened which chart, record, attachment or invoice, and when;
// filtered by user, action and dates, exported as CSV (the same filters).
import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useBackend } from "../backend/context";
import { BackendError } from "../backend/error";
import { saveAs } from "../backend/save";
import type { AuditQuery } from "../bindings/AuditQuery";
import { formatDateTime } from "../format";
import { QueryState } from "./Loading";
import { peopleById, personLabel } from "./people";

const ACTION_LABEL: Record<string, string> = {
  viewed_patient: "Opened a chart",
  viewed_record: "Opened a record",
  viewed_attachment: "Opened an attachment",
  viewed_invoice: "Opened an invoice or receipt",
};

/** Only the filters that are set. */
export function auditQuery(form: { userId: string; action: string; from: string; to: string }): AuditQuery {
  const query: AuditQuery = {};
  if (form.userId) query.userId = form.userId;
  if (form.action) query.action = form.action;
  if (form.from) query.from = form.from;
  if (form.to) query.to = form.to;
  return query;
}

export function AuditLogView() {
  const backend = useBackend();
  const [form, setForm] = useState({ userId: "", action: "", from: "", to: "" });
  const [applied, setApplied] = useState<AuditQuery>({});
  const [exportNote, setExportNote] = useState<string | null>(null);
  const page = useQuery({
    queryKey: ["audit_log", applied],
    queryFn: () => backend.invoke("audit_log", applied),
  });
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setApplied(auditQuery(form));
  };
  const exportCsv = async () => {
    setExportNote(null);
    try {
      const saved = await saveAs(backend, { kind: "audit_csv", query: applied }, async () => ({
        fileName: "audit-log.csv",
        contentType: "text/csv;charset=utf-8",
        bytes: await backend.invoke("audit_log_csv", applied),
      }));
      if (saved) setExportNote("Exported.");
    } catch (reason) {
      setExportNote(BackendError.from(reason).message);
    }
  };
  const error = page.error ? BackendError.from(page.error) : null;
  const people = peopleById(page.data?.people);
  return (
    <section className="card audit" aria-labelledby="audit-title">
      <div className="screen-head">
        <h1 id="audit-title">Audit log</h1>
        {page.data && (
          <span className="list-meta">
            {page.data.rows.length}
            {page.data.truncated ? "+" : ""} entr{page.data.rows.length === 1 ? "y" : "ies"}
          </span>
        )}
      </div>
      <form className="audit-filters" onSubmit={apply} aria-label="Filter the audit log">
        <div className="field">
          <label htmlFor="audit-user">User</label>
          <select id="audit-user" value={form.userId} onChange={(e) => setForm({ ...form, userId: e.target.value })}>
            <option value="">Everyone</option>
            {page.data?.users.map((u) => (
              <option key={u} value={u}>
                {personLabel(u, people.get(u))}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="audit-action">Action</label>
          <select id="audit-action" value={form.action} onChange={(e) => setForm({ ...form, action: e.target.value })}>
            <option value="">Any</option>
            {(page.data?.actions ?? Object.keys(ACTION_LABEL)).map((a) => (
              <option key={a} value={a}>
                {ACTION_LABEL[a] ?? a}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="audit-from">From</label>
          <input id="audit-from" type="date" value={form.from} onChange={(e) => setForm({ ...form, from: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="audit-to">To</label>
          <input id="audit-to" type="date" value={form.to} onChange={(e) => setForm({ ...form, to: e.target.value })} />
        </div>
        <div className="form-actions">
          <button type="submit">Apply filters</button>
          <button type="button" className="secondary" onClick={() => void exportCsv()} disabled={!page.data}>
            Export CSV
          </button>
        </div>
      </form>
      {exportNote && (
        <p role="status" className="hint">
          {exportNote}
        </p>
      )}
      {error && error.details ? (
        <p role="alert" className="error">
          {error.details.map((d) => `${d.field}: ${d.issue}`).join("; ")}
        </p>
      ) : (
        !page.data && <QueryState pending={page.isPending} error={page.error} what="audit log" />
      )}
      {page.data && page.data.rows.length === 0 && <p className="hint">No entries match.</p>}
      {page.data && page.data.rows.length > 0 && (
        <table className="table">
          <caption className="visually-hidden">Audit log entries, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">User</th>
              <th scope="col">Action</th>
              <th scope="col">What</th>
            </tr>
          </thead>
          <tbody>
            {page.data.rows.map((r) => (
              <tr key={r.seq}>
                <td>{formatDateTime(r.at)}</td>
                <td title={r.userId}>{personLabel(r.userId, people.get(r.userId))}</td>
                <td>{ACTION_LABEL[r.action] ?? r.action}</td>
                <td>
                  {r.entityKind} {r.entityId}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page.data?.truncated && <p className="hint">Only the newest entries are shown; narrow the filters or export CSV.</p>}
    </section>
  );
}
