import type { PatientStatus } from "../bindings/PatientStatus";

/** Inactive and deceased patients carry a badge (text, never colour alone); active ones none. */
export function StatusBadge({ status }: { status: PatientStatus }) {
  if (status === "active") return <span className="badge-slot" />;
  return <span className={`badge badge-${status}`}>{status === "deceased" ? "Deceased" : "Inactive"}</span>;
}
