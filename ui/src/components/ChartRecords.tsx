// Records: the list says what each record is; opening one reads it (and the desk records that it
// was opened). A SOAP note is laid out for reading, one section under the other.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useBackend } from "../backend/context";
import type { Attachment } from "../bindings/Attachment";
import { formatDateTime } from "../format";
import { DocumentViewer } from "./DocumentViewer";
import { QueryState } from "./Loading";

export function Records({ patientId }: { patientId: string }) {
  const backend = useBackend();
  const [open, setOpen] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ["patient_records", patientId],
    queryFn: () => backend.invoke("patient_records", { patientId }),
  });
  if (!list.data) return <QueryState pending={list.isPending} error={list.error} what="records" />;
  if (list.data.length === 0) return <p className="hint">No records.</p>;
  const chosen = open ?? list.data[0]?.id ?? null;
  return (
    <div className="master-detail">
      <ul className="record-list" aria-label="Records">
        {list.data.map((r) => (
          <li key={r.id}>
            <button
              type="button"
              className={`list-button${r.id === chosen ? " current" : ""}`}
              aria-current={r.id === chosen ? "true" : undefined}
              onClick={() => setOpen(r.id)}
            >
              <span className="list-title">{r.title}</span>
              <span className="list-meta">
                {r.type} · {formatDateTime(r.date)}
                {r.attachments > 0 ? ` · ${r.attachments} attachment${r.attachments > 1 ? "s" : ""}` : ""}
              </span>
            </button>
          </li>
        ))}
      </ul>
      {chosen && <RecordView recordId={chosen} />}
    </div>
  );
}

function RecordView({ recordId }: { recordId: string }) {
  const backend = useBackend();
  const [viewing, setViewing] = useState<Attachment | null>(null);
  const record = useQuery({
    queryKey: ["open_record", recordId],
    queryFn: () => backend.invoke("open_record", { recordId }),
  });
  if (!record.data) return <QueryState pending={record.isPending} error={record.error} what="record" />;
  const r = record.data.record;
  const author = record.data.providerName ?? `Provider ${r.providerId}`;
  const sections: Array<[string, string]> = [
    ["Subjective", r.content.subjective],
    ["Objective", r.content.objective],
    ["Assessment", r.content.assessment],
    ["Plan", r.content.plan],
  ];
  return (
    <article className="record" aria-labelledby={`record-${r.id}`}>
      <h2 id={`record-${r.id}`}>{r.title}</h2>
      <p className="list-meta">
        {r.type} · {formatDateTime(r.date)} · {author}
      </p>
      {sections.map(([title, text]) => (
        <section key={title} className="soap">
          <h3>{title}</h3>
          <p>{text || "—"}</p>
        </section>
      ))}
      {r.attachments.length > 0 && (
        <section className="soap">
          <h3>Attachments</h3>
          <ul>
            {r.attachments.map((a) => (
              <li key={a.id}>
                <button type="button" className="link-button" onClick={() => setViewing(a)}>
                  Open {a.filename}
                </button>{" "}
                <span className="list-meta">({Math.ceil(Number(a.size) / 1024)} KB)</span>
              </li>
            ))}
          </ul>
        </section>
      )}
      {viewing && (
        <DocumentViewer
          document={{ kind: "attachment", attachmentId: viewing.id }}
          title={viewing.filename}
          onClose={() => setViewing(null)}
        />
      )}
    </article>
  );
}
