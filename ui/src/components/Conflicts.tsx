// The conflict list: each change the server refused, why, ours beside theirs, and what to do:
// edit and retry, take theirs, or discard. Nothing leaves the list without a person's decision.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useBackend } from "../backend/context";
import { BackendError } from "../backend/error";
import type { ConflictAction } from "../bindings/ConflictAction";
import type { ConflictView } from "../bindings/ConflictView";
import { formatDateTime, formatMoney } from "../format";
import { QueryState } from "./Loading";
import { editableFields, fieldLabel, fieldsToChange, flatten, isMoneyField } from "./conflictFields";
import { personLabel } from "./people";

const REASON: Record<string, string> = {
  forbidden: "Not allowed",
  gone: "Deleted on the server",
  clash: "Changed elsewhere or clashes",
  invalid: "Refused by the server's rules",
  other: "Refused",
};

const WHAT: Record<string, string> = { patient: "Patient", appointment: "Appointment", payment: "Payment" };

export const CONFLICTS_KEY = ["conflicts"] as const;

export function Conflicts() {
  const backend = useBackend();
  const list = useQuery({ queryKey: CONFLICTS_KEY, queryFn: () => backend.invoke("conflicts", {}) });
  return (
    <section className="card conflicts" aria-labelledby="conflicts-title">
      <div className="screen-head">
        <h1 id="conflicts-title">Conflicts</h1>
        {list.data && <span className="list-meta">{list.data.length} to resolve</span>}
      </div>
      <p className="hint">
        Changes made on this desk that the server refused. Each waits here until someone decides: change it and send it
        again, keep the server's version, or discard it.
      </p>
      {!list.data && <QueryState pending={list.isPending} error={list.error} what="conflicts" />}
      {list.data?.length === 0 && <p role="status">No conflicts: every change was accepted.</p>}
      {list.data?.map((c) => <ConflictCard key={c.id} conflict={c} />)}
    </section>
  );
}

/** What the change was, in words: a local id means nothing to a person. */
function conflictTitle(conflict: ConflictView): string {
  const what = WHAT[conflict.entityKind] ?? conflict.entityKind;
  const ours = conflict.ours as Record<string, unknown> | null;
  if (conflict.entityKind === "payment" && ours && typeof ours.invoiceId === "string") {
    return `Payment towards invoice ${ours.invoiceId}`;
  }
  const id = conflict.entityId.startsWith("local-") ? "(new)" : conflict.entityId;
  const verb = conflict.operation === "create" ? "new" : conflict.operation.replace(/_/g, " ");
  return `${what} ${id} · ${verb}`;
}

/** A value as a person reads it: money with the currency and two decimals. */
function shown(key: string, value: string): string {
  const amount = Number(value);
  return isMoneyField(key) && value.trim() !== "" && Number.isFinite(amount) ? formatMoney(amount) : value;
}

function Values({ title, values, empty = "Nothing." }: { title: string; values: Array<[string, string]>; empty?: string }) {
  return (
    <div className="conflict-side">
      <h3>{title}</h3>
      {values.length === 0 ? (
        <p className="hint">{empty}</p>
      ) : (
        <dl className="facts facts-small">
          {values.map(([k, v]) => (
            <div key={k}>
              <dt>{fieldLabel(k)}</dt>
              <dd>{shown(k, v) || "—"}</dd>
            </div>
          ))}
        </dl>
      )}
    </div>
  );
}

function ConflictCard({ conflict }: { conflict: ConflictView }) {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState<Record<string, string> | null>(null);
  const resolve = useMutation({
    mutationFn: ({ action, edited }: { action: ConflictAction; edited?: unknown }) =>
      backend.invoke("resolve_conflict", { conflictId: conflict.id, action, ...(edited === undefined ? {} : { edited }) }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: CONFLICTS_KEY });
      void queryClient.invalidateQueries({ queryKey: ["sync_status"] });
      void queryClient.invalidateQueries({ queryKey: ["open_chart"] });
    },
  });
  const error = resolve.error ? BackendError.from(resolve.error) : null;
  const ours = flatten(conflict.ours);
  const theirs = conflict.theirs ? flatten(conflict.theirs) : [];
  const oursKeys = new Set(ours.map(([k]) => k));
  const titleId = `conflict-${conflict.id}`;
  const editable = editableFields(conflict.ours);
  return (
    <article className="conflict" aria-labelledby={titleId}>
      <h2 id={titleId}>{conflictTitle(conflict)}</h2>
      <p className="list-meta">
        By {personLabel(conflict.author, conflict.authorPerson)} · refused {formatDateTime(conflict.refusedAt)}
        {conflict.serverStatus !== null ? ` · HTTP ${conflict.serverStatus}` : ""}
      </p>
      <p className="warning-strip" role="note">
        <strong>{REASON[conflict.reason] ?? conflict.reason}:</strong> {conflict.message}
      </p>
      {conflict.problems.length > 0 && (
        <ul className="conflict-problems" aria-label="What the server found wrong">
          {conflict.problems.map((p) => (
            <li key={`${p.field}-${p.issue}`}>
              <strong>{fieldLabel(p.field)}</strong> {p.issue}
            </li>
          ))}
        </ul>
      )}
      <div className="conflict-sides">
        <Values title="Our change" values={ours} />
        <Values
          title="The server's current data"
          values={theirs.filter(([k]) => oursKeys.has(k) || theirs.length <= 12)}
          empty={conflict.operation === "create" ? "None: this is a new item." : "The server sent none."}
        />
      </div>
      {editing && (
        <form
          className="conflict-edit"
          aria-label="Edit our change"
          onSubmit={(e) => {
            e.preventDefault();
            resolve.mutate({ action: "retry", edited: fieldsToChange(conflict.ours, editing) });
          }}
        >
          <div className="field-row">
            {Object.entries(editing).map(([key, value]) => (
              <div className="field" key={key}>
                <label htmlFor={`${titleId}-${key}`}>{fieldLabel(key)}</label>
                <input
                  id={`${titleId}-${key}`}
                  value={value}
                  onChange={(e) => setEditing({ ...editing, [key]: e.target.value })}
                />
              </div>
            ))}
          </div>
          <div className="form-actions">
            <button type="submit" disabled={resolve.isPending}>
              Send again as edited
            </button>
            <button type="button" className="secondary" onClick={() => setEditing(null)}>
              Cancel editing
            </button>
          </div>
        </form>
      )}
      {error && (
        <div role="alert" className="error">
          <p>{error.message}</p>
          {error.details && (
            <ul>
              {error.details.map((d) => (
                <li key={`${d.field}-${d.issue}`}>
                  {d.field}: {d.issue}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {!editing && (
        <div className="form-actions">
          {editable.length > 0 && (
            <button type="button" onClick={() => setEditing(Object.fromEntries(editable))} disabled={resolve.isPending}>
              Edit and retry
            </button>
          )}
          <button
            type="button"
            className="secondary"
            onClick={() => resolve.mutate({ action: "retry" })}
            disabled={resolve.isPending}
          >
            Retry as it was
          </button>
          {conflict.mayTakeTheirs && (
            <button
              type="button"
              className="secondary"
              onClick={() => resolve.mutate({ action: "take_theirs" })}
              disabled={resolve.isPending}
            >
              Take theirs
            </button>
          )}
          <button
            type="button"
            className="secondary danger-text"
            onClick={() => resolve.mutate({ action: "discard" })}
            disabled={resolve.isPending}
          >
            Discard our change
          </button>
        </div>
      )}
    </article>
  );
}
