import { useQuery } from "@tanstack/react-query";
import { useBackend } from "../backend/context";
import { formatDate } from "../format";
import { StatusBadge } from "./StatusBadge";

/** The Patients screen with nothing open: how to find someone, and the charts opened last. */
export function PatientsHome({ onOpen, onRegister }: { onOpen: (id: string) => void; onRegister?: () => void }) {
  const backend = useBackend();
  const recent = useQuery({
    queryKey: ["recent_patients"],
    queryFn: () => backend.invoke("recent_patients", {}),
  });
  return (
    <section className="patients-home" aria-labelledby="patients-title">
      <div className="screen-head">
        <h1 id="patients-title">Patients</h1>
        {onRegister && (
          <button type="button" onClick={onRegister}>
            Register a new patient
          </button>
        )}
      </div>
      <p className="hint">
        Press <kbd>Ctrl+K</kbd> or <kbd>/</kbd> and type a name (in any order, typos are fine), an MRN, a phone
        number or a date of birth.
      </p>
      <h2>Recently opened</h2>
      {recent.data && recent.data.length === 0 && <p className="hint">No charts opened yet on this desk.</p>}
      {recent.data && recent.data.length > 0 && (
        <ul className="recent-list" aria-label="Recently opened patients">
          {recent.data.map((p) => (
            <li key={p.id}>
              <button type="button" className="list-button" onClick={() => onOpen(p.id)}>
                <span className="list-title">
                  {p.lastName}, {p.firstName}
                </span>
                <span className="list-meta">
                  {formatDate(p.dateOfBirth)} · {p.mrn}
                </span>
                <StatusBadge status={p.status} />
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
