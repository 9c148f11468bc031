// The waitlist: patients waiting for a slot, with what they would accept (providers, location,
// days, times, dates). The list is the server's, shared by every desk; adding needs the server.
// When a cancellation (here or at another desk) frees a slot that waiting patients would take,
// the core ranks them with the server's rules and the book shows the slot with its candidates:
// choosing one opens the booking form filled in, and booking closes their waitlist entry.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useState } from "react";
import { useBackend } from "../backend/context";
import { BackendError } from "../backend";
import type { BookView } from "../bindings/BookView";
import type { Day } from "../bindings/Day";
import type { PatientMatch } from "../bindings/PatientMatch";
import type { SlotCandidate } from "../bindings/SlotCandidate";
import type { SlotOffer } from "../bindings/SlotOffer";
import type { WaitlistRow } from "../bindings/WaitlistRow";
import { Modal } from "../components/Modal";
import { PatientPicker } from "./PatientPicker";
import { hhmm, shortDay } from "./time";

export const WAITLIST_KEY = "waitlist";
export const SLOT_OFFERS_KEY = "slot_offers";

const DAYS: Array<[Day, string]> = [
  ["monday", "Mon"],
  ["tuesday", "Tue"],
  ["wednesday", "Wed"],
  ["thursday", "Thu"],
  ["friday", "Fri"],
  ["saturday", "Sat"],
  ["sunday", "Sun"],
];

/** What the offline refusal says, in the desk's words. */
function failureText(error: unknown): string {
  const e = BackendError.from(error);
  if (e.code === "offline") {
    return "The waitlist is kept on the server, which cannot be reached now: adding or removing a patient needs it. Try again when the desk is online.";
  }
  return e.details?.map((d) => `${d.field}: ${d.issue}`).join("; ") || e.message;
}

function preferencesText(row: WaitlistRow): string {
  const p = row.entry.preferences;
  const parts: string[] = [];
  parts.push(row.providerNames.length > 0 ? row.providerNames.join(" or ") : "any provider");
  if (row.locationName) parts.push(`at ${row.locationName}`);
  if (p.days.length > 0) parts.push(p.days.map((d) => DAYS.find(([x]) => x === d)?.[1] ?? d).join(", "));
  if (p.earliestTime || p.latestTime) parts.push(`${p.earliestTime ?? "opening"}–${p.latestTime ?? "closing"}`);
  if (p.earliestDate) parts.push(`from ${shortDay(p.earliestDate)}`);
  if (p.latestDate) parts.push(`until ${shortDay(p.latestDate)}`);
  return parts.join(" · ");
}

/** The waitlist and the form to add a patient to it. */
export function WaitlistDialog({ view, onClose }: { view: BookView; onClose: () => void }) {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const list = useQuery({
    queryKey: [WAITLIST_KEY],
    queryFn: () => backend.invoke("waitlist", {}),
    refetchInterval: 30_000,
  });
  const remove = useMutation({
    mutationFn: (entryId: string) => backend.invoke("remove_from_waitlist", { entryId }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: [WAITLIST_KEY] }),
  });
  const rows = list.data?.rows ?? [];
  return (
    <Modal title="Waitlist" onClose={onClose} className="waitlist-dialog">
      <AddToWaitlist view={view} />
      <h3 id="waitlist-waiting">Waiting ({rows.length})</h3>
      {list.error && (
        <p className="error" role="alert">
          {failureText(list.error)}
        </p>
      )}
      {list.data?.fromMemory && (
        <p className="warning-strip" role="status">
          The server cannot be reached: this is the list as last read on this desk.
        </p>
      )}
      {remove.error && (
        <p className="error" role="alert">
          {failureText(remove.error)}
        </p>
      )}
      {rows.length === 0 && list.data && <p className="hint">Nobody is waiting.</p>}
      {rows.length > 0 && (
        <table className="waitlist-table" aria-labelledby="waitlist-waiting">
          <thead>
            <tr>
              <th scope="col">Patient</th>
              <th scope="col">Visit</th>
              <th scope="col">Would take</th>
              <th scope="col">Added</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.entry.id}>
                <td>{row.patientName}</td>
                <td>
                  {row.entry.type} ({row.entry.duration} min){row.entry.reason ? ` — ${row.entry.reason}` : ""}
                </td>
                <td>{preferencesText(row)}</td>
                <td>{shortDay(row.entry.created.slice(0, 10))}</td>
                <td>
                  <button
                    type="button"
                    className="secondary"
                    aria-label={`Take ${row.patientName} off the waitlist`}
                    disabled={remove.isPending}
                    onClick={() => remove.mutate(row.entry.id)}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="form-actions">
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}

function AddToWaitlist({ view }: { view: BookView }) {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const [patient, setPatient] = useState<PatientMatch | null>(null);
  const firstType = view.types[0];
  const [kind, setKind] = useState(firstType?.name ?? "");
  const [minutes, setMinutes] = useState(firstType?.defaultDuration ?? 30);
  const [providerIds, setProviderIds] = useState<string[]>([]);
  const [locationId, setLocationId] = useState("");
  const [days, setDays] = useState<Day[]>([]);
  const [earliestTime, setEarliestTime] = useState("");
  const [latestTime, setLatestTime] = useState("");
  const [earliestDate, setEarliestDate] = useState("");
  const [latestDate, setLatestDate] = useState("");
  const [reason, setReason] = useState("");
  const [added, setAdded] = useState<string | null>(null);
  const add = useMutation({
    mutationFn: () =>
      backend.invoke("add_to_waitlist", {
        patientId: patient?.id ?? "",
        type: kind,
        duration: minutes,
        reason: reason.trim() || undefined,
        preferences: {
          providerIds,
          locationId: locationId || undefined,
          days,
          earliestTime: earliestTime || undefined,
          latestTime: latestTime || undefined,
          earliestDate: earliestDate || undefined,
          latestDate: latestDate || undefined,
        },
      }),
    onSuccess: () => {
      setAdded(patient ? `${patient.lastName}, ${patient.firstName} is on the waitlist.` : "Added.");
      setPatient(null);
      setReason("");
      void queryClient.invalidateQueries({ queryKey: [WAITLIST_KEY] });
    },
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setAdded(null);
    if (patient) add.mutate();
  };
  const toggle = <T,>(list: T[], item: T, on: boolean) => (on ? [...list, item] : list.filter((x) => x !== item));
  return (
    <form className="waitlist-form" aria-label="Add to the waitlist" onSubmit={onSubmit}>
      <h3>Add a patient</h3>
      <PatientPicker chosen={patient} onChoose={setPatient} autoFocus />
      <div className="form-grid">
        <label>
          Type
          <select
            aria-label="Type"
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
          <input type="number" min={5} max={480} step={5} value={minutes} onChange={(e) => setMinutes(Number(e.target.value) || 0)} />
        </label>
        <label>
          Location
          <select aria-label="Location" value={locationId} onChange={(e) => setLocationId(e.target.value)}>
            <option value="">Any location</option>
            {view.locations.map((l) => (
              <option key={l.id} value={l.id}>
                {l.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Reason
          <input value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
        </label>
        <label>
          Not before (time)
          <input type="time" step={300} value={earliestTime} onChange={(e) => setEarliestTime(e.target.value)} />
        </label>
        <label>
          Done by (time)
          <input type="time" step={300} value={latestTime} onChange={(e) => setLatestTime(e.target.value)} />
        </label>
        <label>
          Earliest date
          <input type="date" value={earliestDate} onChange={(e) => setEarliestDate(e.target.value)} />
        </label>
        <label>
          Latest date
          <input type="date" value={latestDate} onChange={(e) => setLatestDate(e.target.value)} />
        </label>
      </div>
      <fieldset className="waitlist-days">
        <legend>Days (none: any day)</legend>
        {DAYS.map(([day, short]) => (
          <label key={day} className="check">
            <input type="checkbox" checked={days.includes(day)} onChange={(e) => setDays((d) => toggle(d, day, e.target.checked))} />
            {short}
          </label>
        ))}
      </fieldset>
      <fieldset className="waitlist-providers">
        <legend>Providers (none: anyone)</legend>
        {view.providers.map((p) => (
          <label key={p.id} className="check">
            <input
              type="checkbox"
              checked={providerIds.includes(p.id)}
              onChange={(e) => setProviderIds((ids) => toggle(ids, p.id, e.target.checked))}
            />
            {p.name}
          </label>
        ))}
      </fieldset>
      <div aria-live="polite">
        {add.error && (
          <p className="error" role="alert">
            {failureText(add.error)}
          </p>
        )}
        {added && <p className="hint">{added}</p>}
      </div>
      <div className="form-actions">
        <button type="submit" disabled={!patient || add.isPending || minutes < 5}>
          Add to waitlist
        </button>
      </div>
    </form>
  );
}

/** The freed slots waiting patients would take, each with its ranked candidates. */
export function SlotOffers({ onOffer }: { onOffer: (offer: SlotOffer, candidate: SlotCandidate) => void }) {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const offers = useQuery({
    queryKey: [SLOT_OFFERS_KEY],
    queryFn: () => backend.invoke("slot_offers", {}),
    refetchInterval: 30_000,
  });
  useEffect(
    () =>
      backend.subscribe((event) => {
        if (event.type === "slot_freed" || event.type === "waitlist_changed") {
          void queryClient.invalidateQueries({ queryKey: [SLOT_OFFERS_KEY] });
          void queryClient.invalidateQueries({ queryKey: [WAITLIST_KEY] });
        } else if (event.type === "sync" && event.event.type === "changed" && event.event.collection === "appointments") {
          // A slot offered may have been taken or restored meanwhile.
          void queryClient.invalidateQueries({ queryKey: [SLOT_OFFERS_KEY] });
        }
      }),
    [backend, queryClient],
  );
  const dismiss = useMutation({
    mutationFn: (appointmentId: string) => backend.invoke("dismiss_slot_offer", { appointmentId }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: [SLOT_OFFERS_KEY] }),
  });
  const list = offers.data ?? [];
  if (list.length === 0) return null;
  return (
    <section className="slot-offers" aria-label="Freed slots for the waitlist">
      {list.map((offer) => (
        <div key={offer.appointmentId} className="slot-offer" role="status">
          <p className="slot-offer-head">
            <strong>
              Slot free: {shortDay(offer.date)} {hhmm(offer.startMinute)}–{hhmm(offer.startMinute + offer.minutes)}
            </strong>{" "}
            · {offer.providerName} · {offer.locationName} — {offer.candidates.length} on the waitlist would take it
            {offer.fromMemory ? " (from the list as last read; the server cannot be reached)" : ""}
          </p>
          <ol className="slot-offer-candidates" aria-label="Candidates, best first">
            {offer.candidates.slice(0, 3).map((c) => (
              <li key={c.entryId}>
                <button type="button" className="secondary" onClick={() => onOffer(offer, c)}>
                  Offer to {c.patientName}
                </button>
                <span className="hint">
                  {" "}
                  {c.type} ({c.duration} min) · {c.why}
                </span>
              </li>
            ))}
          </ol>
          <button
            type="button"
            className="link-button"
            aria-label={`Dismiss the free slot of ${hhmm(offer.startMinute)}`}
            onClick={() => dismiss.mutate(offer.appointmentId)}
          >
            Dismiss
          </button>
        </div>
      ))}
    </section>
  );
}
