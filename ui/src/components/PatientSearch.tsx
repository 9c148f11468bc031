// The search box of the top bar: a WAI-ARIA combobox over the desk's cached patients. Results
// come as the person types (names in any order, typos, MRN, id, phone, date of birth), the
// matched parts marked; ↑/↓ move, Enter opens, Escape closes; empty, it offers recent patients.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type KeyboardEvent, type Ref, useDeferredValue, useEffect, useId, useState } from "react";
import { useBackend } from "../backend/context";
import type { PatientMatch } from "../bindings/PatientMatch";
import { formatDate } from "../format";
import { Highlighted } from "./Highlighted";
import { resultsAreCurrent, useSettledEnter } from "./settledEnter";
import { StatusBadge } from "./StatusBadge";

/** The desk answers with at most this many (what fits on screen without scrolling). */
const SHOWN_AT_MOST = 12;

export function PatientSearch({ inputRef, onOpen }: { inputRef: Ref<HTMLInputElement>; onOpen: (id: string) => void }) {
  const backend = useBackend();
  const [query, setQuery] = useState("");
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const typed = useDeferredValue(query.trim());
  const listId = useId();
  const hintId = useId();

  const results = useQuery({
    queryKey: ["search_patients", typed],
    queryFn: () => backend.invoke("search_patients", { query: typed }),
    enabled: typed !== "",
    placeholderData: keepPreviousData,
    staleTime: 0,
  });
  const recent = useQuery({
    queryKey: ["recent_patients"],
    queryFn: () => backend.invoke("recent_patients", {}),
    enabled: open && typed === "",
  });

  const showingRecent = query.trim() === "";
  const items: PatientMatch[] = (showingRecent ? recent.data : results.data) ?? [];
  const expanded = open && (items.length > 0 || (!showingRecent && results.isSuccess));
  const activeIndex = Math.min(active, Math.max(items.length - 1, 0));
  const optionId = (i: number) => `${listId}-option-${i}`;

  // The active option stays in view as the arrows move it through a long list.
  useEffect(() => {
    if (expanded) // (jsdom, under Vitest, has no scrollIntoView.)
    document.getElementById(optionId(activeIndex))?.scrollIntoView?.({ block: "nearest" });
  });

  const choose = (patient: PatientMatch | undefined) => {
    if (!patient) return;
    setOpen(false);
    setQuery("");
    onOpen(patient.id);
  };

  // The list shows the results of what is typed now (not an earlier query's, still on screen).
  const settled = resultsAreCurrent(query, typed, results);
  const enter = useSettledEnter(settled, () => choose(items[activeIndex]));

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        setOpen(true);
        setActive(items.length === 0 ? 0 : (activeIndex + 1) % items.length);
        break;
      case "ArrowUp":
        event.preventDefault();
        setActive(items.length === 0 ? 0 : (activeIndex - 1 + items.length) % items.length);
        break;
      case "Enter":
        if (!settled) {
          event.preventDefault();
          enter.wait();
        } else if (expanded) {
          event.preventDefault();
          choose(items[activeIndex]);
        }
        break;
      case "Escape":
        enter.cancel();
        if (open) {
          event.preventDefault();
          setOpen(false);
        } else {
          setQuery("");
        }
        break;
    }
  };

  return (
    <div className="search">
      <input
        ref={inputRef}
        type="search"
        role="combobox"
        aria-label="Search patients"
        aria-describedby={hintId}
        aria-autocomplete="list"
        aria-expanded={expanded}
        aria-controls={listId}
        aria-activedescendant={expanded && items.length > 0 ? optionId(activeIndex) : undefined}
        placeholder="Search patients: name, MRN, phone, date of birth"
        autoComplete="off"
        spellCheck={false}
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setActive(0);
          setOpen(true);
          enter.cancel();
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => {
          setOpen(false);
          enter.cancel();
        }}
        onKeyDown={onKeyDown}
      />
      <kbd className="search-shortcut" id={hintId} aria-label="Shortcut: Control K or slash">
        Ctrl+K
      </kbd>
      <div className="search-popup" hidden={!expanded}>
        {showingRecent && items.length > 0 && <div className="search-caption">Recent patients</div>}
        {!showingRecent && results.isSuccess && items.length === 0 && (
          <div className="search-caption" role="status">
            No patient matches “{typed}”
          </div>
        )}
        <ul id={listId} role="listbox" aria-label={showingRecent ? "Recent patients" : "Matching patients"}>
          {items.map((patient, i) => (
            <li
              key={patient.id}
              id={optionId(i)}
              role="option"
              aria-selected={i === activeIndex}
              className="search-option"
              // Keep focus in the box: a mousedown would blur it and close the list first.
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => choose(patient)}
              onMouseMove={() => setActive(i)}
            >
              <span className="search-name">
                <Highlighted text={patient.lastName} field="lastName" highlights={patient.highlights} />,{" "}
                <Highlighted text={patient.firstName} field="firstName" highlights={patient.highlights} />
              </span>
              <span className="search-dob">
                {patient.highlights.some((h) => h.field === "dateOfBirth") ? (
                  <mark>{formatDate(patient.dateOfBirth)}</mark>
                ) : (
                  formatDate(patient.dateOfBirth)
                )}
              </span>
              <span className="search-mrn">
                <Highlighted text={patient.mrn} field="mrn" highlights={patient.highlights} />
              </span>
              <span className="search-phone">
                {patient.phone ? (
                  <Highlighted text={patient.phone} field="phone" highlights={patient.highlights} />
                ) : null}
              </span>
              <StatusBadge status={patient.status} />
            </li>
          ))}
        </ul>
        {!showingRecent && items.length >= SHOWN_AT_MOST && (
          <div className="search-caption search-more">The best {items.length} are shown: type more to narrow them</div>
        )}
      </div>
    </div>
  );
}
