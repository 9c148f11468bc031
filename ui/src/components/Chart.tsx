// A patient's chart: a sticky header with what must be seen before anything else (status,
// allergies, insurance, balance), then tabs. The patient comes from the desk's cache; the tabs'
// contents from the server through the desk.
import { useQuery } from "@tanstack/react-query";
import { useRef, useState } from "react";
import { useBackend } from "../backend/context";
import { BackendError } from "../backend/error";
import type { Chart as ChartData } from "../bindings/Chart";
import type { Patient } from "../bindings/Patient";
import { formatDate, formatMoney, fullName } from "../format";
import { Appointments } from "./ChartAppointments";
import { Invoices } from "./ChartInvoices";
import { Records } from "./ChartRecords";
import { Details } from "./ChartDetails";
import { StatusBadge } from "./StatusBadge";
import { type TabItem, Tabs } from "./Tabs";

export function chartKey(patientId: string) {
  return ["open_chart", patientId] as const;
}

export function Chart({ patientId, onEdit }: { patientId: string; onEdit?: () => void }) {
  const backend = useBackend();
  const [tab, setTab] = useState("appointments");
  // The first read is the opening the audit log records; later reads (fresher data arrived) are
  // refreshes of the chart already on screen.
  const opened = useRef(false);
  const chart = useQuery({
    queryKey: chartKey(patientId),
    queryFn: async () => {
      const command = opened.current ? "refresh_chart" : "open_chart";
      const data = await backend.invoke(command, { patientId });
      opened.current = true;
      return data;
    },
    // Always read on mount: opening a chart is recorded even when an earlier read is cached.
    refetchOnMount: "always",
  });
  if (chart.isPending) return <p role="status">Opening the chart…</p>;
  if (chart.isError) {
    return (
      <p role="alert" className="error">
        {BackendError.from(chart.error).message}
      </p>
    );
  }
  const data = chart.data;
  const id = data.patient.id;
  const items: TabItem[] = [];
  if (data.mayReadAppointments) items.push({ id: "appointments", label: "Appointments", panel: () => <Appointments patientId={id} /> });
  if (data.mayReadRecords) items.push({ id: "records", label: "Records", panel: () => <Records patientId={id} /> });
  if (data.mayReadInvoices) items.push({ id: "invoices", label: "Invoices", panel: () => <Invoices patientId={id} /> });
  items.push({ id: "details", label: "Details", panel: () => <Details patient={data.patient} /> });

  return (
    <article className="chart" aria-labelledby="chart-name">
      <ChartHeader chart={data} onEdit={onEdit} />
      <Tabs label="Chart sections" items={items} selected={tab} onSelect={setTab} />
      {!data.mayReadRecords && (
        <p className="hint role-note">Medical records are shown to clinicians only.</p>
      )}
    </article>
  );
}

function ChartHeader({ chart, onEdit }: { chart: ChartData; onEdit?: () => void }) {
  const p = chart.patient;
  return (
    <header className={`chart-header${chart.pending ? " pending" : ""}`}>
      <div className="chart-title">
        <h1 id="chart-name">{fullName(p)}</h1>
        <StatusBadge status={p.status} />
        {chart.pending && (
          <span className="badge badge-pending" title="Saved on this desk; the server has not confirmed it yet">
            <span aria-hidden="true">🕒 </span>Pending confirmation
          </span>
        )}
        {onEdit && (
          <button type="button" className="secondary edit-details" onClick={onEdit}>
            Edit details
          </button>
        )}
      </div>
      <dl className="chart-facts">
        <div>
          <dt>Age</dt>
          <dd>{chart.age}</dd>
        </div>
        <div>
          <dt>Date of birth</dt>
          <dd>{formatDate(p.dateOfBirth)}</dd>
        </div>
        <div>
          <dt>MRN</dt>
          <dd>{p.mrn}</dd>
        </div>
        <div>
          <dt>Phone</dt>
          <dd>{p.contactInfo.phone ?? "—"}</dd>
        </div>
        <Insurance patient={p} />
        {chart.mayReadInvoices && <Balance patientId={p.id} />}
      </dl>
      {p.status !== "active" && (
        <p className="warning-strip" role="note">
          {p.status === "deceased"
            ? "This patient is recorded as deceased. Do not book appointments or send reminders."
            : "This patient is inactive. Check their details before booking."}
        </p>
      )}
      <Allergies patient={p} />
    </header>
  );
}

function Insurance({ patient }: { patient: Patient }) {
  const primary = patient.insurance?.primary;
  const secondary = patient.insurance?.secondary;
  return (
    <>
      <div>
        <dt>Primary insurance</dt>
        <dd>{primary ? `${primary.provider} · ${primary.memberId}` : "None"}</dd>
      </div>
      {secondary && (
        <div>
          <dt>Secondary insurance</dt>
          <dd>{`${secondary.provider} · ${secondary.memberId}`}</dd>
        </div>
      )}
    </>
  );
}

function Balance({ patientId }: { patientId: string }) {
  const backend = useBackend();
  const invoices = useQuery({
    queryKey: ["patient_invoices", patientId],
    queryFn: () => backend.invoke("patient_invoices", { patientId }),
  });
  // Summed in cents: the amounts arrive with two decimals, and binary fractions would drift.
  const cents = invoices.data?.reduce((sum, inv) => sum + Math.round(inv.balance * 100), 0);
  const due = cents === undefined ? undefined : cents / 100;
  return (
    <div>
      <dt>Balance due</dt>
      <dd className="money">
        {due === undefined ? (invoices.isError ? "unavailable offline" : "…") : formatMoney(due)}
      </dd>
    </div>
  );
}

function Allergies({ patient }: { patient: Patient }) {
  const allergies = patient.allergies;
  if (allergies === undefined) {
    return <p className="allergy-none">Allergies not recorded on this desk</p>;
  }
  if (allergies.length === 0) {
    // An empty list says none are on file, not that the patient was asked (a registration at
    // the desk does not ask yet): never "no known allergies".
    return <p className="allergy-none">No allergies recorded</p>;
  }
  return (
    <section className="allergy-strip" aria-label="Allergies">
      <strong>Allergies:</strong>
      <ul>
        {allergies.map((a) => (
          <li key={a.allergen}>
            <strong>{a.allergen}</strong> ({a.severity.toLowerCase()}: {a.reaction})
          </li>
        ))}
      </ul>
    </section>
  );
}
