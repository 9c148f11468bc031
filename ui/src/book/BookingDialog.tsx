// Booking an appointment: patient (the desk's search; inactive or deceased warned), type (its
// default length), provider, location, day and time at the location, reason, notes. The next
// free slots are found on the desk (by provider or specialty, location, time of day, length) and
// the booking is checked as it is filled in, so a clash shows before saving, offline too.
import { useMutation, useQuery } from "@tanstack/react-query";
import { type FormEvent, useEffect, useId, useMemo, useRef, useState } from "react";
import { useBackend } from "../backend/context";
import { BackendError } from "../backend";
import type { BookView } from "../bindings/BookView";
import type { BookingArgs } from "../bindings/BookingArgs";
import type { FoundSlot } from "../bindings/FoundSlot";
import type { PatientMatch } from "../bindings/PatientMatch";
import type { PendingAppointment } from "../bindings/PendingAppointment";
import type { TimeOfDay } from "../bindings/TimeOfDay";
import { Modal } from "../components/Modal";
import { PatientPicker } from "./PatientPicker";
import { hhmm, parseHhmm, shortDay } from "./time";

export interface BookingStart {
  providerId?: string;
  locationId?: string;
  date: string;
  minute?: number;
  /** Open with the slot finder's button focused ("F"). */
  findSlot?: boolean;
  /** The patient chosen already (a chart's "B", a waitlist candidate). */
  patientId?: string;
  /** The type and length asked for (a waitlist entry's). */
  kind?: string;
  minutes?: number;
  reason?: string;
  /** Booking this waitlist entry: it is closed once the server accepts the booking. */
  waitlistEntryId?: string;
}

export function BookingDialog({
  view,
  start,
  onClose,
  onBooked,
}: {
  view: BookView;
  start: BookingStart;
  onClose: () => void;
  onBooked: (pending: PendingAppointment, date: string) => void;
}) {
  const backend = useBackend();
  const ids = useId();
  const [patient, setPatient] = useState<PatientMatch | null>(null);
  const firstType = view.types.find((t) => t.name === start.kind) ?? view.types[0];
  const [kind, setKind] = useState(firstType?.name ?? "");
  const [minutes, setMinutes] = useState(start.minutes ?? firstType?.defaultDuration ?? 30);
  // A patient named from the start is looked up by id (the search takes an id typed whole).
  const given = useQuery({
    queryKey: ["search_patients", start.patientId],
    queryFn: () => backend.invoke("search_patients", { query: start.patientId ?? "" }),
    enabled: !!start.patientId,
  });
  useEffect(() => {
    const found = given.data?.find((p) => p.id === start.patientId);
    if (found) setPatient(found);
  }, [given.data, start.patientId]);
  const [providerId, setProviderId] = useState(start.providerId ?? view.providers[0]?.id ?? "");
  const provider = view.providers.find((p) => p.id === providerId);
  const [locationId, setLocationId] = useState(start.locationId ?? provider?.locationIds[0] ?? "");
  const [date, setDate] = useState(start.date);
  const [time, setTime] = useState(start.minute != null ? hhmm(start.minute) : "");
  const [reason, setReason] = useState(start.reason ?? "");
  const [notes, setNotes] = useState("");
  const [searchBy, setSearchBy] = useState<"provider" | "specialty">("provider");
  const [timeOfDay, setTimeOfDay] = useState<TimeOfDay>("any");
  const [slots, setSlots] = useState<FoundSlot[] | null>(null);
  const findRef = useRef<HTMLButtonElement>(null);
  const typeRef = useRef<HTMLSelectElement>(null);
  const submitRef = useRef<HTMLButtonElement>(null);
  const slotsRef = useRef<HTMLUListElement>(null);
  const [slotTaken, setSlotTaken] = useState(0);

  // The keyboard path: a chosen patient hands focus to the type, found slots to the first slot,
  // a taken slot to the booking button.
  useEffect(() => {
    if (patient && !start.waitlistEntryId) typeRef.current?.focus();
    // Everything is filled in for a waitlist offer: confirming is the one step left.
    if (patient && start.waitlistEntryId) submitRef.current?.focus();
  }, [patient, start.waitlistEntryId]);
  useEffect(() => {
    if (slotTaken > 0) submitRef.current?.focus();
  }, [slotTaken]);
  useEffect(() => {
    if (slots && slots.length > 0) slotsRef.current?.querySelector("button")?.focus();
  }, [slots]);

  useEffect(() => {
    if (start.findSlot) findRef.current?.focus();
  }, [start.findSlot]);

  // A provider who does not work at the chosen location takes their first one.
  useEffect(() => {
    if (provider && !provider.locationIds.includes(locationId)) setLocationId(provider.locationIds[0] ?? "");
  }, [provider, locationId]);

  const minute = parseHhmm(time);
  const args: BookingArgs | null = useMemo(
    () =>
      patient && providerId && locationId && date && minute != null && kind
        ? {
            patientId: patient.id,
            providerId,
            locationId,
            date,
            minute,
            minutes,
            type: kind,
            reason: reason.trim() || undefined,
            notes: notes.trim() || undefined,
          }
        : null,
    [patient, providerId, locationId, date, minute, minutes, kind, reason, notes],
  );
  const check = useQuery({
    queryKey: ["check_booking", args],
    queryFn: () => backend.invoke("check_booking", args as BookingArgs),
    enabled: args !== null,
    staleTime: 0,
  });
  const find = useMutation({
    mutationFn: () =>
      backend.invoke("find_slots", {
        providerId: searchBy === "provider" ? providerId : undefined,
        specialty: searchBy === "specialty" ? provider?.specialty : undefined,
        locationId: searchBy === "provider" ? locationId : undefined,
        from: date,
        minutes,
        timeOfDay,
        limit: 8,
      }),
    onSuccess: (found) => {
      setSlots(found);
    },
  });
  const book = useMutation({
    mutationFn: (a: BookingArgs) =>
      start.waitlistEntryId
        ? backend.invoke("book_from_waitlist", { entryId: start.waitlistEntryId, booking: a })
        : backend.invoke("book_appointment", a),
    onSuccess: (pending) => onBooked(pending, date),
  });

  const takeSlot = (slot: FoundSlot) => {
    setProviderId(slot.providerId);
    setLocationId(slot.locationId);
    setDate(slot.date);
    setTime(hhmm(slot.startMinute));
    setSlots(null);
    setSlotTaken((n) => n + 1);
  };
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (args) book.mutate(args);
  };
  const bookError = book.error ? BackendError.from(book.error) : null;
  const problems = [...(check.data?.problems ?? []), ...(bookError?.details ?? [])];
  const clash = check.data?.clash;
  const locationsOfProvider = view.locations.filter((l) => provider?.locationIds.includes(l.id));
  const zone = view.locations.find((l) => l.id === locationId)?.timeZone;

  return (
    <Modal title="Book an appointment" onClose={onClose} className="booking-dialog">
      <form
        onSubmit={onSubmit}
        className="booking-form"
        aria-label="Booking"
        onKeyDown={(e) => {
          if (e.altKey && e.key.toLowerCase() === "f") {
            e.preventDefault();
            find.mutate();
          }
        }}
      >
        {start.waitlistEntryId && (
          <p className="hint">From the waitlist: their entry is closed once the server accepts this booking.</p>
        )}
        {start.patientId && !patient && given.isFetching && <p className="hint">Finding the patient…</p>}
        <PatientPicker chosen={patient} onChoose={setPatient} autoFocus={!start.findSlot && !start.patientId} />
        <div className="form-grid">
          <label>
            Type
            <select
              aria-label="Type"
              ref={typeRef}
              value={kind}
              onChange={(e) => {
                setKind(e.target.value);
                const t = view.types.find((x) => x.name === e.target.value);
                if (t) setMinutes(t.defaultDuration);
              }}
            >
              {view.types.map((t) => (
                <option key={t.name} value={t.name}>
                  {t.name} ({t.defaultDuration} min)
                </option>
              ))}
            </select>
          </label>
          <label>
            Length (minutes)
            <input
              type="number"
              min={5}
              max={480}
              step={5}
              value={minutes}
              onChange={(e) => setMinutes(Number(e.target.value) || 0)}
            />
          </label>
          <label>
            Provider
            <select aria-label="Provider" value={providerId} onChange={(e) => setProviderId(e.target.value)}>
              {view.providers.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name} — {p.specialty}
                </option>
              ))}
            </select>
          </label>
          <label>
            Location
            <select aria-label="Location" value={locationId} onChange={(e) => setLocationId(e.target.value)}>
              {locationsOfProvider.map((l) => (
                <option key={l.id} value={l.id}>
                  {l.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Day
            <input type="date" value={date} required onChange={(e) => setDate(e.target.value)} />
          </label>
          <label>
            Time{zone ? ` (${zone})` : ""}
            <input type="time" step={300} value={time} required onChange={(e) => setTime(e.target.value)} />
          </label>
          <label className="span-2">
            Reason
            <input value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
          </label>
          <label className="span-2">
            Notes
            <textarea value={notes} maxLength={2000} rows={2} onChange={(e) => setNotes(e.target.value)} />
          </label>
        </div>

        <fieldset className="slot-finder">
          <legend>Next free slot</legend>
          <div className="slot-finder-row">
            <label>
              Search
              <select aria-label="Search" value={searchBy} onChange={(e) => setSearchBy(e.target.value as "provider" | "specialty")}>
                <option value="provider">This provider and location</option>
                <option value="specialty">Anyone in {provider?.specialty ?? "the specialty"}</option>
              </select>
            </label>
            <label>
              Time of day
              <select aria-label="Time of day" value={timeOfDay} onChange={(e) => setTimeOfDay(e.target.value as TimeOfDay)}>
                <option value="any">Any time</option>
                <option value="morning">Morning</option>
                <option value="afternoon">Afternoon</option>
              </select>
            </label>
            <button
              type="button"
              ref={findRef}
              className="secondary"
              aria-keyshortcuts="Alt+F"
              title="Find the next free slot (Alt+F)"
              onClick={() => find.mutate()}
              disabled={find.isPending || minutes < 5}
            >
              Find next free slot <kbd>Alt+F</kbd>
            </button>
          </div>
          {find.error && <p className="error">{BackendError.from(find.error).message}</p>}
          {slots && slots.length === 0 && <p className="hint">No free slot in the next 60 days.</p>}
          {slots && slots.length > 0 && (
            <ul className="slot-list" aria-label="Free slots" ref={slotsRef}>
              {slots.map((s) => (
                <li key={`${s.providerId}-${s.startTime}`}>
                  <button type="button" className="slot-button" onClick={() => takeSlot(s)}>
                    {shortDay(s.date)} {hhmm(s.startMinute)} · {s.providerName} · {s.locationName}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </fieldset>

        <div aria-live="polite" id={`${ids}-check`}>
          {clash && (
            <p className="warning-strip clash" role="alert">
              {clash}
            </p>
          )}
          {problems.length > 0 && (
            <ul className="error" role="alert">
              {problems.map((p) => (
                <li key={`${p.field}-${p.issue}`}>
                  {p.field}: {p.issue}
                </li>
              ))}
            </ul>
          )}
          {bookError && !bookError.details && (
            <p className="error" role="alert">
              {bookError.message}
            </p>
          )}
          {check.data?.ok && (
            <p className="hint">
              Free: {shortDay(date)} {time}–{minute != null ? hhmm(minute + minutes) : ""}
            </p>
          )}
        </div>
        <div className="form-actions">
          <button type="submit" ref={submitRef} disabled={!args || book.isPending || check.data?.ok === false}>
            Book appointment
          </button>
          <button type="button" className="secondary" onClick={onClose}>
            Close
          </button>
        </div>
      </form>
    </Modal>
  );
}
