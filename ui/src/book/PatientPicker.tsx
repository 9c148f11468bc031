// Choosing the patient of a booking: the same search as the top bar (the desk's cached patients,
// names in any order, typos, MRN, phone, date of birth), as a WAI-ARIA combobox inside the form.
// Inactive and deceased patients are listed with their badge and warned about once chosen.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type KeyboardEvent, useDeferredValue, useId, useState } from "react";
import { useBackend } from "../backend/context";
import type { PatientMatch } from "../bindings/PatientMatch";
import { formatDate } from "../format";
import { resultsAreCurrent, useSettledEnter } from "../components/settledEnter";
import { StatusBadge } from "../components/StatusBadge";

export function PatientPicker({
  chosen,
  onChoose,
  autoFocus,
}: {
  chosen: PatientMatch | null;
  onChoose: (patient: PatientMatch | null) => void;
  autoFocus?: boolean;
}) {
  const backend = useBackend();
  const [query, setQuery] = useState("");
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const typed = useDeferredValue(query.trim());
  const listId = useId();
  const inputId = useId();
  const results = useQuery({
    queryKey: ["search_patients", typed],
    queryFn: () => backend.invoke("search_patients", { query: typed }),
    enabled: typed !== "",
    placeholderData: keepPreviousData,
  });
  const items = typed === "" ? [] : (results.data ?? []);
  const expanded = open && items.length > 0;
  const activeIndex = Math.min(active, Math.max(items.length - 1, 0));

  const choose = (patient: PatientMatch | undefined) => {
    if (!patient) return;
    onChoose(patient);
    setOpen(false);
    setQuery("");
  };
  // The list shows the results of what is typed now (not an earlier query's, still on screen).
  const settled = resultsAreCurrent(query, typed, results);
  const enter = useSettledEnter(settled, () => choose(items[activeIndex]));
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "Enter" && !settled) {
      event.preventDefault();
      enter.wait();
    } else if (event.key === "ArrowDown") {
      event.preventDefault();
      setOpen(true);
      setActive((i) => Math.min(i + 1, items.length - 1));
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      setActive((i) => Math.max(i - 1, 0));
    } else if (event.key === "Enter" && expanded) {
      event.preventDefault();
      choose(items[activeIndex]);
    } else if (event.key === "Escape" && expanded) {
      event.preventDefault();
      event.stopPropagation();
      setOpen(false);
      enter.cancel();
    }
  };

  if (chosen) {
    return (
      <div className="picked-patient">
        <span className="field-label">Patient</span>
        <div className="picked-row">
          <strong>
            {chosen.lastName}, {chosen.firstName}
          </strong>
          <span className="muted">
            {formatDate(chosen.dateOfBirth)} · {chosen.mrn}
          </span>
          <StatusBadge status={chosen.status} />
          <button type="button" className="secondary" onClick={() => onChoose(null)}>
            Change patient
          </button>
        </div>
        {chosen.status !== "active" && (
          <p className="warning-strip" role="alert">
            {chosen.status === "deceased"
              ? "This patient is recorded as deceased: the server will not book them."
              : "This patient is inactive: reactivate them before booking."}
          </p>
        )}
      </div>
    );
  }
  return (
    <div className="patient-picker">
      <label htmlFor={inputId}>Patient</label>
      <input
        id={inputId}
        role="combobox"
        aria-expanded={expanded}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={expanded ? `${listId}-${activeIndex}` : undefined}
        autoComplete="off"
        autoFocus={autoFocus}
        placeholder="Name, MRN, phone or date of birth"
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setOpen(true);
          setActive(0);
          enter.cancel();
        }}
        onKeyDown={onKeyDown}
      />
      <ul id={listId} role="listbox" aria-label="Patients found" className="picker-list" hidden={!expanded}>
        {expanded &&
          items.map((p, i) => (
            <li
              key={p.id}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === activeIndex}
              className="picker-option"
              onMouseDown={(e) => {
                e.preventDefault();
                choose(p);
              }}
            >
              <span>
                {p.lastName}, {p.firstName}
              </span>
              <span className="muted">
                {formatDate(p.dateOfBirth)} · {p.mrn}
              </span>
              <StatusBadge status={p.status} />
            </li>
          ))}
      </ul>
    </div>
  );
}
