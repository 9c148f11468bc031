// The appointment book: a day (a column per provider at each location they work that day) or a
// week (the chosen providers, a column per day), each laid out on the location's wall clock with
// its hours, breaks and time off shaded, appointments coloured by type and marked by status, and
// a "now" line. Keyboard: T today, ←/→ previous/next day or week, D/W day/week, B book, F find a
// slot; on a selected appointment I/R/C/N change its status, Alt+↑/↓ move it 15 minutes, Alt+←/→
// a day, Delete cancels; Ctrl+Z undoes the last change while its toast shows. Changes from other
// desks appear without a reload, briefly highlighted.
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import { defaultRangeExtractor, type Range, useVirtualizer } from "@tanstack/react-virtual";
import {
  type DragEvent,
  type KeyboardEvent,
  memo,
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from "react";
import { useBackend } from "../backend/context";
import { BackendError } from "../backend";
import type { AppointmentStatus } from "../bindings/AppointmentStatus";
import type { BookColumn } from "../bindings/BookColumn";
import type { BookEntry } from "../bindings/BookEntry";
import type { BookView } from "../bindings/BookView";
import type { BookViewArgs } from "../bindings/BookViewArgs";
import type { PendingAppointment } from "../bindings/PendingAppointment";
import { Modal } from "../components/Modal";
import { type BookingStart, BookingDialog } from "./BookingDialog";
import { DaySheet } from "./DaySheet";
import { STATUS_ICON, STATUS_KEY, STATUS_LABEL, moveLabel } from "./status";
import { addDays, columnDay, hhmm, longDay, shortDay, weekStart } from "./time";
import { readSettled, useBookLive, useEditedVersion } from "./live";
import { shortProviderName } from "./names";
import { SlotOffers, WaitlistDialog } from "./Waitlist";
import "./book.css";

/** Pixels per minute of the grid: a 15-minute visit is one line of text high. */
const PPM = 1.4;
/** The time gutter's width and a week column's narrowest width (the grid's tracks). */
const GUTTER_PX = 56;
const WEEK_COLUMN_PX = 104;
const SNAP = 15;
const UNDO_MS = 10_000;

export const BOOK_VIEW_KEY = "book_view";

type Mode = "day" | "week";

interface Toast {
  message: string;
  undo?: () => Promise<unknown>;
  id: number;
}

function isEditable(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

/** Beyond this many columns the headers name providers by family name (the full name, specialty
 * and location in the tooltip): the day fits the screen's width instead of scrolling sideways. */
const COMPACT_AFTER = 8;

/** A callback whose identity never changes but which always runs the latest `fn`: memoised
 * columns and appointment blocks keep their props equal across the book's renders. */
function useStableCallback<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  const latest = useRef(fn);
  useLayoutEffect(() => {
    latest.current = fn;
  });
  return useCallback((...args: A) => latest.current(...args), []);
}

function gridRange(columns: BookColumn[]): [number, number] {
  let start = 8 * 60;
  let end = 18 * 60;
  for (const c of columns) {
    for (const h of c.hours) {
      start = Math.min(start, h.start);
      end = Math.max(end, h.end);
    }
    for (const a of c.appointments) {
      start = Math.min(start, a.startMinute);
      end = Math.max(end, a.endMinute);
    }
  }
  return [Math.floor(start / 60) * 60, Math.min(24 * 60, Math.ceil(end / 60) * 60)];
}

export function AppointmentBook({
  today,
  canBook,
  bookFor,
}: {
  today: string;
  canBook: boolean;
  /** Open the booking form for this patient at once (`B` on a chart). */
  bookFor?: { patientId: string; nonce: number };
}) {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const [date, setDate] = useState(today);
  const [mode, setMode] = useState<Mode>("day");
  const [locationId, setLocationId] = useState("");
  const [specialty, setSpecialty] = useState("");
  const [weekProviders, setWeekProviders] = useState<string[]>([]);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [booking, setBooking] = useState<BookingStart | null>(null);
  const [cancelling, setCancelling] = useState<BookEntry | null>(null);
  const [toast, setToast] = useState<Toast | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [printing, setPrinting] = useState(false);
  const [waitlistOpen, setWaitlistOpen] = useState(false);

  const args: BookViewArgs = useMemo(
    () =>
      mode === "day"
        ? { date, days: 1, locationId: locationId || undefined, specialty: specialty || undefined }
        : {
            date: weekStart(date),
            days: 7,
            locationId: locationId || undefined,
            specialty: specialty || undefined,
            providerIds: weekProviders,
          },
    [mode, date, locationId, specialty, weekProviders],
  );
  const { highlighted, accepted, noteOwn, changes } = useBookLive();
  const book = useQuery({
    queryKey: [BOOK_VIEW_KEY, args],
    queryFn: () => readSettled(changes, () => backend.invoke("book_view", args)),
    placeholderData: keepPreviousData,
    refetchInterval: 60_000,
  });
  const view = book.data;

  // `B` on a chart: the booking form opens with the chart's patient chosen.
  useEffect(() => {
    if (bookFor && canBook) setBooking({ date: today, patientId: bookFor.patientId });
  }, [bookFor, canBook, today]);

  // A week view with nobody chosen starts with the first provider.
  useEffect(() => {
    const first = view?.providers[0];
    if (mode === "week" && weekProviders.length === 0 && first) setWeekProviders([first.id]);
  }, [mode, weekProviders.length, view]);

  const entries = useMemo(() => {
    const byId = new Map<string, { entry: BookEntry; column: BookColumn }>();
    for (const column of view?.columns ?? []) {
      for (const entry of column.appointments) byId.set(entry.appointment.id, { entry, column });
    }
    return byId;
  }, [view]);
  const selected = selectedId ? entries.get(selectedId) : undefined;
  // The appointment open here (its panel, or the cancel dialog) against the version it opened at.
  const editedId = cancelling?.appointment.id ?? selected?.entry.appointment.id;
  const cachedVersion = editedId ? entries.get(editedId)?.entry.appointment.version : undefined;
  // `version` is an i64 in Rust (typed bigint); JSON brings it as a number.
  const editedVersion = cachedVersion === undefined ? undefined : Number(cachedVersion);
  const { changedElsewhere, rebase } = useEditedVersion(editedId, editedVersion, accepted);

  const showToast = useCallback((message: string, undo?: () => Promise<unknown>) => {
    setToast({ message, undo, id: Date.now() });
  }, []);
  useEffect(() => {
    if (!toast) return;
    const timer = window.setTimeout(() => setToast(null), UNDO_MS);
    return () => window.clearTimeout(timer);
  }, [toast]);

  const refresh = useCallback(
    () => queryClient.invalidateQueries({ queryKey: [BOOK_VIEW_KEY] }),
    [queryClient],
  );
  const run = useCallback(
    async (work: () => Promise<PendingAppointment>, message: (p: PendingAppointment) => string, undo?: () => Promise<PendingAppointment>) => {
      setFailure(null);
      try {
        const pending = await work();
        noteOwn(pending.appointment.id);
        rebase();
        setSelectedId(pending.appointment.id);
        await refresh();
        showToast(
          message(pending),
          undo
            ? async () => {
                const back = await undo();
                noteOwn(back.appointment.id);
                await refresh();
              }
            : undefined,
        );
      } catch (error) {
        const e = BackendError.from(error);
        setFailure(e.details?.map((d) => d.issue).join("; ") || e.message);
      }
    },
    [noteOwn, rebase, refresh, showToast],
  );

  const moveTo = useCallback(
    (entry: BookEntry, column: BookColumn, toDate: string, minute: number) => {
      const id = entry.appointment.id;
      const from = { date: column.date, minute: entry.startMinute };
      void run(
        () => backend.invoke("reschedule_appointment", { appointmentId: id, date: toDate, minute }),
        () => `Moved ${entry.patientName} to ${shortDay(toDate)} ${hhmm(minute)}`,
        () => backend.invoke("reschedule_appointment", { appointmentId: id, date: from.date, minute: from.minute }),
      );
    },
    [backend, run],
  );
  const setStatus = useCallback(
    (entry: BookEntry, to: AppointmentStatus) => {
      const id = entry.appointment.id;
      const from = entry.appointment.status;
      // The flow's own undo moves: an accidental check-in goes back to scheduled.
      const undo =
        from === "scheduled" && to === "checked_in"
          ? () => backend.invoke("set_appointment_status", { appointmentId: id, status: "scheduled" })
          : undefined;
      void run(
        () => backend.invoke("set_appointment_status", { appointmentId: id, status: to }),
        () => `${entry.patientName}: ${STATUS_LABEL[to]}`,
        undo,
      );
    },
    [backend, run],
  );

  const step = mode === "day" ? 1 : 7;
  // Keys of the book (not while typing, and not while a dialog is open).
  useEffect(() => {
    const onKey = (event: globalThis.KeyboardEvent) => {
      if (booking || cancelling || printing || waitlistOpen) return;
      const ctrl = event.ctrlKey || event.metaKey;
      if (ctrl && event.key.toLowerCase() === "z" && toast?.undo) {
        event.preventDefault();
        const undo = toast.undo;
        setToast(null);
        void undo().catch((e) => setFailure(BackendError.from(e).message));
        return;
      }
      if (ctrl || event.altKey || isEditable(event.target)) return;
      const key = event.key;
      if (key === "t" || key === "T") setDate(today);
      else if (key === "ArrowLeft") setDate((d) => addDays(d, -step));
      else if (key === "ArrowRight") setDate((d) => addDays(d, step));
      else if (key === "d" || key === "D") setMode("day");
      else if (key === "w" || key === "W") setMode("week");
      else if ((key === "b" || key === "B") && canBook) setBooking({ date, providerId: selected?.column.providerId, locationId: selected?.column.locationId });
      else if ((key === "f" || key === "F") && canBook)
        setBooking({ date, providerId: selected?.column.providerId, locationId: selected?.column.locationId, findSlot: true });
      else return;
      event.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [booking, cancelling, printing, waitlistOpen, toast, today, step, canBook, date, selected]);

  const onEntryKey = useStableCallback((event: KeyboardEvent<HTMLButtonElement>, entry: BookEntry, column: BookColumn) => {
    if (!canBook) return;
    const key = event.key;
    if (event.altKey && ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"].includes(key)) {
      event.preventDefault();
      event.stopPropagation();
      if (entry.appointment.status !== "scheduled") {
        setFailure(`Only a scheduled appointment can be moved; this one is ${STATUS_LABEL[entry.appointment.status].toLowerCase()}.`);
        return;
      }
      if (key === "ArrowUp") moveTo(entry, column, column.date, entry.startMinute - SNAP);
      if (key === "ArrowDown") moveTo(entry, column, column.date, entry.startMinute + SNAP);
      if (key === "ArrowLeft") moveTo(entry, column, addDays(column.date, -1), entry.startMinute);
      if (key === "ArrowRight") moveTo(entry, column, addDays(column.date, 1), entry.startMinute);
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const upper = key.toUpperCase();
    const to = (Object.entries(STATUS_KEY) as Array<[AppointmentStatus, string]>).find(([, k]) => k === upper)?.[0];
    if (to && entry.nextStatuses.includes(to)) {
      event.preventDefault();
      event.stopPropagation();
      setStatus(entry, to);
    } else if (to) {
      event.preventDefault();
      event.stopPropagation();
      setFailure(`${entry.patientName} cannot go from ${STATUS_LABEL[entry.appointment.status].toLowerCase()} to ${STATUS_LABEL[to].toLowerCase()}.`);
    } else if (key === "Delete" && entry.nextStatuses.includes("cancelled")) {
      event.preventDefault();
      setCancelling(entry);
    }
  });

  const onDrop = useStableCallback((event: DragEvent<HTMLDivElement>, column: BookColumn, top: number) => {
    event.preventDefault();
    const id = event.dataTransfer.getData("text/x-appointment");
    const found = entries.get(id);
    if (!found) return;
    if (found.column.providerId !== column.providerId) {
      setFailure("An appointment moves within its provider's book; book the other provider instead.");
      return;
    }
    const rect = event.currentTarget.getBoundingClientRect();
    const grab = Number(event.dataTransfer.getData("text/x-grab-offset")) || 0;
    const minute = Math.round((top + (event.clientY - rect.top - grab) / PPM) / SNAP) * SNAP;
    if (minute === found.entry.startMinute && column.date === found.column.date) return;
    moveTo(found.entry, found.column, column.date, Math.max(0, minute));
  });

  const typeColour = useMemo(() => new Map((view?.types ?? []).map((t) => [t.name, t.colour])), [view?.types]);
  const title = mode === "day" ? longDay(date) : `Week of ${longDay(weekStart(date))}`;
  const columns = useMemo(() => view?.columns ?? [], [view?.columns]);

  return (
    <section className={`book ${selected ? "with-detail" : ""}`} aria-labelledby="book-title">
      <div className="book-toolbar" role="toolbar" aria-label="Book navigation">
        <h1 id="book-title">{title}</h1>
        <button type="button" className="secondary" aria-keyshortcuts="ArrowLeft" title={`Previous ${mode} (←)`} onClick={() => setDate(addDays(date, -step))}>
          ← Previous
        </button>
        <button type="button" className="secondary" aria-keyshortcuts="T" title="Today (T)" onClick={() => setDate(today)}>
          Today
        </button>
        <button type="button" className="secondary" aria-keyshortcuts="ArrowRight" title={`Next ${mode} (→)`} onClick={() => setDate(addDays(date, step))}>
          Next →
        </button>
        <label className="inline">
          Go to date
          <input type="date" value={date} onChange={(e) => e.target.value && setDate(e.target.value)} />
        </label>
        <div className="segmented" role="group" aria-label="View">
          <button type="button" aria-pressed={mode === "day"} aria-keyshortcuts="D" title="Day view (D)" onClick={() => setMode("day")}>
            Day
          </button>
          <button type="button" aria-pressed={mode === "week"} aria-keyshortcuts="W" title="Week view (W)" onClick={() => setMode("week")}>
            Week
          </button>
        </div>
        <label className="inline">
          Location
          <select aria-label="Location" value={locationId} onChange={(e) => setLocationId(e.target.value)}>
            <option value="">All locations</option>
            {view?.locations.map((l) => (
              <option key={l.id} value={l.id}>
                {l.name}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          Specialty
          <select aria-label="Specialty" value={specialty} onChange={(e) => setSpecialty(e.target.value)}>
            <option value="">All specialties</option>
            {view?.specialties.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        {mode === "week" && view && (
          <details className="provider-choice">
            <summary>Providers ({weekProviders.length})</summary>
            <fieldset>
              <legend className="visually-hidden">Providers in the week view</legend>
              {view.providers
                .filter((p) => !specialty || p.specialty === specialty)
                .map((p) => (
                  <label key={p.id} className="check">
                    <input
                      type="checkbox"
                      checked={weekProviders.includes(p.id)}
                      onChange={(e) =>
                        setWeekProviders((ids) => (e.target.checked ? [...ids, p.id] : ids.filter((x) => x !== p.id)))
                      }
                    />
                    {p.name}
                  </label>
                ))}
            </fieldset>
          </details>
        )}
        <span className="topbar-spacer" />
        <button type="button" className="secondary" onClick={() => setPrinting(true)} disabled={!view}>
          Day sheet
        </button>
        <button type="button" className="secondary" onClick={() => setWaitlistOpen(true)} disabled={!view}>
          Waitlist
        </button>
        {canBook && (
          <button type="button" aria-keyshortcuts="B" title="Book an appointment (B); find the next free slot (F)" onClick={() => setBooking({ date, providerId: selected?.column.providerId, locationId: selected?.column.locationId })}>
            Book <kbd>B</kbd>
          </button>
        )}
      </div>
      {failure && (
        <p className="error book-failure" role="alert">
          {failure}{" "}
          <button type="button" className="link-button" onClick={() => setFailure(null)}>
            Dismiss
          </button>
        </p>
      )}
      {book.error && (
        <p className="error" role="alert">
          {BackendError.from(book.error).message}
        </p>
      )}
      {canBook && (
        <SlotOffers
          onOffer={(offer, candidate) =>
            setBooking({
              date: offer.date,
              minute: offer.startMinute,
              providerId: offer.providerId,
              locationId: offer.locationId,
              patientId: candidate.patientId,
              kind: candidate.type,
              minutes: candidate.duration,
              reason: candidate.reason ?? undefined,
              waitlistEntryId: candidate.entryId,
            })
          }
        />
      )}
      <div className="book-body">
        <BookGrid
          columns={columns}
          empty={!!view && columns.length === 0}
          week={mode === "week"}
          busy={book.isFetching}
          typeColour={typeColour}
          selectedId={selectedId}
          highlighted={highlighted}
          canMove={canBook}
          onSelect={setSelectedId}
          onKey={onEntryKey}
          onDrop={onDrop}
        />
        {selected && (
          <AppointmentDetail
            entry={selected.entry}
            column={selected.column}
            changedElsewhere={changedElsewhere}
            canBook={canBook}
            onStatus={(to) => (to === "cancelled" ? setCancelling(selected.entry) : setStatus(selected.entry, to))}
            onMove={(days, minutes) =>
              moveTo(selected.entry, selected.column, addDays(selected.column.date, days), selected.entry.startMinute + minutes)
            }
            onClose={() => setSelectedId(null)}
          />
        )}
      </div>
      {toast && (
        <div className="toast" role="status" aria-label="Last change" key={toast.id}>
          <span>{toast.message}</span>
          {toast.undo && (
            <button
              type="button"
              className="link-button"
              aria-keyshortcuts="Control+Z"
              onClick={() => {
                const undo = toast.undo;
                setToast(null);
                void undo?.().catch((e) => setFailure(BackendError.from(e).message));
              }}
            >
              Undo <kbd>Ctrl+Z</kbd>
            </button>
          )}
        </div>
      )}
      {booking && view && (
        <BookingDialog
          view={view}
          start={booking}
          onClose={() => setBooking(null)}
          onBooked={(pending, day) => {
            setBooking(null);
            void queryClient.invalidateQueries({ queryKey: ["slot_offers"] });
            noteOwn(pending.appointment.id);
            setDate(day);
            setSelectedId(pending.appointment.id);
            void refresh();
            showToast(`Booked ${pending.appointment.type} on ${shortDay(day)}`);
          }}
        />
      )}
      {cancelling && (
        <CancelDialog
          entry={cancelling}
          changedElsewhere={changedElsewhere}
          onClose={() => setCancelling(null)}
          onCancel={(reason) => {
            const entry = cancelling;
            setCancelling(null);
            void run(
              () => backend.invoke("cancel_appointment", { appointmentId: entry.appointment.id, reason }),
              () => `Cancelled ${entry.patientName}'s appointment`,
              () => backend.invoke("set_appointment_status", { appointmentId: entry.appointment.id, status: "scheduled" }),
            );
          }}
        />
      )}
      {printing && view && <DaySheet view={view} args={args} onClose={() => setPrinting(false)} />}
      {waitlistOpen && view && <WaitlistDialog view={view} onClose={() => setWaitlistOpen(false)} />}
    </section>
  );
}

/**
 * The grid of columns. A week of several providers has tens of columns (seven a provider) and
 * hundreds of appointments, far more than the screen shows: its columns are virtualised
 * (`@tanstack/react-virtual`, horizontally): only those in view, and two either side, are
 * rendered, each in its own track of the full-width grid, so the grid keeps its width and
 * scrolling brings columns in before they show. A day's columns share the screen's width (UI.md:
 * a clinic's day fits without scrolling sideways), so all of them are in view and rendered.
 */
const BookGrid = memo(function BookGrid({
  columns,
  empty,
  week,
  busy,
  typeColour,
  selectedId,
  highlighted,
  canMove,
  onSelect,
  onKey,
  onDrop,
}: {
  columns: BookColumn[];
  empty: boolean;
  week: boolean;
  busy: boolean;
  typeColour: Map<string, string>;
  selectedId: string | null;
  highlighted: ReadonlySet<string>;
  canMove: boolean;
  onSelect: (id: string) => void;
  onKey: (event: KeyboardEvent<HTMLButtonElement>, entry: BookEntry, column: BookColumn) => void;
  onDrop: (event: DragEvent<HTMLDivElement>, column: BookColumn, top: number) => void;
}) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const [gridStart, gridEnd] = useMemo(() => gridRange(columns), [columns]);
  const height = (gridEnd - gridStart) * PPM;
  const hours: number[] = [];
  for (let m = gridStart; m < gridEnd; m += 60) hours.push(m);
  // The selected appointment's column (the focused one: focus selects) stays rendered while it
  // scrolls out of view, so focus is not lost; and the nearest column with appointments on either
  // side of the view is rendered too, so Tab and Shift+Tab always reach the next appointment
  // (focusing it scrolls it into view, which renders its neighbours).
  const selectedIndex = useMemo(
    () => (selectedId ? columns.findIndex((c) => c.appointments.some((e) => e.appointment.id === selectedId)) : -1),
    [columns, selectedId],
  );
  const withAppointments = useMemo(
    () => columns.flatMap((c, i) => (c.appointments.length > 0 ? [i] : [])),
    [columns],
  );
  const rangeExtractor = useCallback(
    (range: Range) => {
      const indices = defaultRangeExtractor(range);
      const first = indices[0] ?? 0;
      const last = indices[indices.length - 1] ?? -1;
      // Beside the view, or beside the selected column when that is out of view: focus that
      // has just reached a column at the edge of what is drawn finds the next one drawn too,
      // however fast Tab is pressed (before the scroll that focus caused has been seen).
      const low = selectedIndex >= 0 ? Math.min(first, selectedIndex) : first;
      const high = selectedIndex >= 0 ? Math.max(last, selectedIndex) : last;
      const extra = [
        [...withAppointments].reverse().find((i) => i < low),
        withAppointments.find((i) => i > high),
        selectedIndex >= 0 ? selectedIndex : undefined,
      ].filter((i): i is number => i !== undefined && (i < first || i > last));
      return extra.length === 0 ? indices : [...new Set([...indices, ...extra])].sort((a, b) => a - b);
    },
    [withAppointments, selectedIndex],
  );
  const virtualizer = useVirtualizer({
    horizontal: true,
    rangeExtractor,
    count: columns.length,
    getScrollElement: () => scrollRef.current,
    // When the week overflows the screen its tracks are exactly the narrowest width
    // (minmax(104px, 1fr) resolves to 104 px); when it fits, every column is in range anyway.
    estimateSize: () => WEEK_COLUMN_PX,
    paddingStart: GUTTER_PX,
    overscan: 2,
    enabled: week,
    // The first render already shows a laptop screen's worth; the real width follows at once.
    initialRect: { width: 1366, height: 768 },
  });
  const shown = (week ? virtualizer.getVirtualItems().map((v) => v.index) : columns.map((_, i) => i)).flatMap((i) => {
    const c = columns[i];
    return c ? [{ i, c }] : [];
  });

  // An appointment chosen, or moved to another day by key, is brought into view when its column
  // is not (once: a refresh of the book does not pull the view back to it).
  const revealed = useRef("");
  useEffect(() => {
    const key = `${selectedId}@${selectedIndex}`;
    if (!week || selectedIndex < 0 || revealed.current === key) return;
    revealed.current = key;
    virtualizer.scrollToIndex(selectedIndex, { align: "auto" });
  }, [week, selectedId, selectedIndex, virtualizer]);

  const compact = columns.length > COMPACT_AFTER;
  return (
    <div className="book-grid-scroll" ref={scrollRef}>
      {empty && <p className="hint book-empty">Nobody works on this day with these filters.</p>}
      {columns.length > 0 && (
        <div
          className="book-grid"
          // The day: the columns share the width there is, however many (UI.md: a full
          // clinic's day fits 1366 px without scrolling sideways). A week of several providers
          // (seven columns each) keeps readable columns and scrolls instead.
          style={{
            gridTemplateColumns: `${GUTTER_PX}px repeat(${columns.length}, ${week ? `minmax(${WEEK_COLUMN_PX}px, 1fr)` : "minmax(0, 1fr)"})`,
            // Chromium counts only placed items, not empty tracks, as scrollable overflow: with
            // the columns out of view not rendered, the week would scroll only as far as the
            // last rendered one. The grid's own width makes the whole week scrollable.
            minWidth: week ? GUTTER_PX + columns.length * WEEK_COLUMN_PX : undefined,
          }}
          aria-busy={busy}
        >
          <div className="book-corner" style={{ gridColumn: 1, gridRow: 1 }} />
          {shown.map(({ i, c }) => (
              <div
                key={`h-${c.providerId}-${c.locationId}-${c.date}`}
                className="book-colhead"
                style={{ gridColumn: i + 2, gridRow: 1 }}
                title={`${c.providerName}, ${c.specialty} · ${c.locationName}${week ? `, ${longDay(c.date)}` : ""}`}
              >
                <strong>{compact ? shortProviderName(c.providerName) : c.providerName}</strong>
                <span>{compact ? c.locationName : `${c.specialty} · ${c.locationName}`}</span>
                {week && <span className="book-colday">{columnDay(c.date)}</span>}
              </div>
          ))}
          <div className="book-times" style={{ height, gridColumn: 1, gridRow: 2 }} aria-hidden="true">
            {hours.map((m) => (
              <span key={m} style={{ top: (m - gridStart) * PPM }}>
                {hhmm(m)}
              </span>
            ))}
          </div>
          {shown.map(({ i, c }) => (
              <DayColumn
                key={`b-${c.providerId}-${c.locationId}-${c.date}`}
                track={i + 2}
                column={c}
                gridStart={gridStart}
                height={height}
                typeColour={typeColour}
                selectedId={selectedId}
                highlighted={highlighted}
                canMove={canMove}
                week={week}
                narrow={week || compact}
                onSelect={onSelect}
                onKey={onKey}
                onDrop={onDrop}
              />
          ))}
        </div>
      )}
    </div>
  );
});

const DayColumn = memo(function DayColumn({
  track,
  column,
  gridStart,
  height,
  typeColour,
  selectedId,
  highlighted,
  canMove,
  week,
  narrow,
  onSelect,
  onKey,
  onDrop,
}: {
  track: number;
  column: BookColumn;
  gridStart: number;
  height: number;
  typeColour: Map<string, string>;
  selectedId: string | null;
  highlighted: ReadonlySet<string>;
  canMove: boolean;
  week: boolean;
  /** Columns about 100 px wide (a week, or a day of many providers). */
  narrow: boolean;
  onSelect: (id: string) => void;
  onKey: (event: KeyboardEvent<HTMLButtonElement>, entry: BookEntry, column: BookColumn) => void;
  onDrop: (event: DragEvent<HTMLDivElement>, column: BookColumn, top: number) => void;
}) {
  const y = (m: number) => (m - gridStart) * PPM;
  const label = `${column.providerName}, ${column.locationName}${week ? `, ${shortDay(column.date)}` : ""}`;
  return (
    <div
      className="book-col"
      style={{ height, gridColumn: track, gridRow: 2 }}
      role="group"
      aria-label={label}
      onDragOver={(e) => canMove && e.preventDefault()}
      onDrop={(e) => onDrop(e, column, gridStart)}
    >
      {column.hours.map((h) => (
        <div key={`o-${h.start}`} className="book-open" style={{ top: y(h.start), height: (h.end - h.start) * PPM }} />
      ))}
      {column.closed.map((c) => (
        <div
          key={`c-${c.start}-${c.kind}`}
          className={`book-closed book-${c.kind}`}
          style={{ top: y(c.start), height: (c.end - c.start) * PPM }}
        >
          <span>{c.kind === "break" ? "Break" : `Time off${c.note ? `: ${c.note}` : ""}`}</span>
        </div>
      ))}
      {column.hours.length === 0 && <div className="book-closed-day">Not working</div>}
      {column.nowMinute != null && column.nowMinute >= gridStart && (
        <div className="book-now" style={{ top: y(column.nowMinute) }} aria-label={`Now, ${hhmm(column.nowMinute)}`} role="img" />
      )}
      {column.appointments.map((entry) => (
        <AppointmentBlock
          key={entry.appointment.id}
          entry={entry}
          column={column}
          top={y(entry.startMinute)}
          colour={typeColour.get(entry.appointment.type) ?? "#888"}
          selected={selectedId === entry.appointment.id}
          flash={highlighted.has(entry.appointment.id)}
          canMove={canMove}
          narrow={narrow}
          onSelect={onSelect}
          onKey={onKey}
        />
      ))}
    </div>
  );
});

/** One appointment in its column: memoised, so a selection or a highlight re-renders only the
 * blocks it changes. */
const AppointmentBlock = memo(function AppointmentBlock({
  entry,
  column,
  top,
  colour,
  selected,
  flash,
  canMove,
  narrow,
  onSelect,
  onKey,
}: {
  entry: BookEntry;
  column: BookColumn;
  top: number;
  colour: string;
  selected: boolean;
  flash: boolean;
  canMove: boolean;
  narrow: boolean;
  onSelect: (id: string) => void;
  onKey: (event: KeyboardEvent<HTMLButtonElement>, entry: BookEntry, column: BookColumn) => void;
}) {
  const a = entry.appointment;
  const time = `${hhmm(entry.startMinute)}–${hhmm(entry.endMinute)}`;
  const boxHeight = Math.max((entry.endMinute - entry.startMinute) * PPM - 2, 16);
  // Too short for three lines: time, name and the status symbol on one.
  const short = boxHeight < 44;
  const classes = [
    "appt",
    `appt-${a.status}`,
    entry.pending ? "appt-pending" : "",
    entry.inConflict ? "appt-conflict" : "",
    flash ? "appt-flash" : "",
    selected ? "appt-selected" : "",
    short ? "appt-short" : "",
  ].join(" ");
  const extra = [entry.pending ? "pending" : "", entry.inConflict ? "refused, on the conflict list" : ""].filter(Boolean).join(", ");
  return (
    <button
      type="button"
      className={classes}
      style={{ top, height: boxHeight, borderLeftColor: colour }}
      aria-label={`${time} ${entry.patientName}, ${a.type}, ${STATUS_LABEL[a.status]}${extra ? `, ${extra}` : ""}`}
      aria-pressed={selected}
      draggable={canMove && a.status === "scheduled"}
      onDragStart={(e) => {
        e.dataTransfer.setData("text/x-appointment", a.id);
        e.dataTransfer.setData("text/x-grab-offset", String(e.clientY - e.currentTarget.getBoundingClientRect().top));
        e.dataTransfer.effectAllowed = "move";
      }}
      onClick={() => onSelect(a.id)}
      onFocus={() => onSelect(a.id)}
      onKeyDown={(e) => onKey(e, entry, column)}
    >
      {/* A short block in a narrow column gives its width to the name: its place on the grid
          says when it is, and its label and the detail panel say it exactly. */}
      {!(short && narrow) && <span className="appt-time">{hhmm(entry.startMinute)}</span>}
      <span className="appt-name">{entry.patientName}</span>
      <span className="appt-type">{a.type}</span>
      {/* "Scheduled", the usual state, is marked only where there is room (a tall block in a
          wide column); the others always are. A tall block has its mark in its top corner,
          with the status's name where there is room for it. */}
      {!(a.status === "scheduled" && (short || narrow)) && (
        <span className="appt-status-mark" aria-hidden="true" title={STATUS_LABEL[a.status]}>
          {STATUS_ICON[a.status]}
          {a.status === "scheduled" || short || narrow ? "" : ` ${STATUS_LABEL[a.status]}`}
        </span>
      )}
      {entry.pending && (
        <span className="appt-pending-mark" aria-hidden="true" title="Not yet confirmed by the server">
          ⏱
        </span>
      )}
    </button>
  );
});

function AppointmentDetail({
  entry,
  column,
  changedElsewhere,
  canBook,
  onStatus,
  onMove,
  onClose,
}: {
  entry: BookEntry;
  column: BookColumn;
  changedElsewhere: boolean;
  canBook: boolean;
  onStatus: (to: AppointmentStatus) => void;
  onMove: (days: number, minutes: number) => void;
  onClose: () => void;
}) {
  const a = entry.appointment;
  return (
    <aside className="book-detail" aria-label="Selected appointment">
      <div className="book-detail-head">
        <h2>{entry.patientName}</h2>
        <button type="button" className="secondary icon-button" aria-label="Close the appointment" onClick={onClose}>
          ✕
        </button>
      </div>
      {changedElsewhere && (
        <p className="warning-strip" role="alert">
          Changed elsewhere since you opened it: what is shown is the latest version.
        </p>
      )}
      {entry.inConflict && (
        <p className="warning-strip" role="alert">
          The server refused a change made here: see Conflicts.
        </p>
      )}
      <dl className="facts facts-small">
        <dt>When</dt>
        <dd>
          {shortDay(column.date)} {hhmm(entry.startMinute)}–{hhmm(entry.endMinute)}
        </dd>
        <dt>With</dt>
        <dd>
          {column.providerName}, {column.locationName}
        </dd>
        <dt>Type</dt>
        <dd>{a.type}</dd>
        <dt>Status</dt>
        <dd>
          <span className={`appt-status appt-${a.status}`}>
            {STATUS_ICON[a.status]} {STATUS_LABEL[a.status]}
          </span>
          {entry.pending && <span className="pending-text"> · pending</span>}
        </dd>
        {a.reason && (
          <>
            <dt>Reason</dt>
            <dd>{a.reason}</dd>
          </>
        )}
        {a.notes && (
          <>
            <dt>Notes</dt>
            <dd>{a.notes}</dd>
          </>
        )}
        {a.cancelReason && (
          <>
            <dt>Cancelled</dt>
            <dd>{a.cancelReason}</dd>
          </>
        )}
        {entry.patientPhone && (
          <>
            <dt>Phone</dt>
            <dd>{entry.patientPhone}</dd>
          </>
        )}
      </dl>
      {canBook && (
        <>
          <div className="detail-actions" role="group" aria-label="Status">
            {entry.nextStatuses.map((to) => (
              <button
                key={to}
                type="button"
                className={to === "cancelled" ? "secondary cancel-appointment" : "secondary"}
                aria-keyshortcuts={to === "cancelled" ? "Delete" : STATUS_KEY[to]}
                onClick={() => onStatus(to)}
              >
                {moveLabel(a.status, to)}
                {STATUS_KEY[to] && a.status !== "no_show" && <kbd>{STATUS_KEY[to]}</kbd>}
              </button>
            ))}
          </div>
          {a.status === "scheduled" && (
            <div className="detail-actions" role="group" aria-label="Move">
              <button type="button" className="secondary" aria-keyshortcuts="Alt+ArrowUp" onClick={() => onMove(0, -SNAP)}>
                15 min earlier
              </button>
              <button type="button" className="secondary" aria-keyshortcuts="Alt+ArrowDown" onClick={() => onMove(0, SNAP)}>
                15 min later
              </button>
              <button type="button" className="secondary" aria-keyshortcuts="Alt+ArrowLeft" onClick={() => onMove(-1, 0)}>
                A day earlier
              </button>
              <button type="button" className="secondary" aria-keyshortcuts="Alt+ArrowRight" onClick={() => onMove(1, 0)}>
                A day later
              </button>
            </div>
          )}
        </>
      )}
    </aside>
  );
}

function CancelDialog({
  entry,
  changedElsewhere,
  onClose,
  onCancel,
}: {
  entry: BookEntry;
  changedElsewhere: boolean;
  onClose: () => void;
  onCancel: (reason: string) => void;
}) {
  const [reason, setReason] = useState("");
  return (
    <Modal title="Cancel the appointment" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (reason.trim()) onCancel(reason.trim());
        }}
      >
        <p>
          {entry.patientName}, {hhmm(entry.startMinute)} ({entry.appointment.type})
        </p>
        {changedElsewhere && (
          <p className="warning-strip" role="alert">
            Changed at another desk while this was open: check it before cancelling.
          </p>
        )}
        <label>
          Reason for cancelling
          <input autoFocus required maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
        </label>
        <div className="form-actions">
          <button type="submit" disabled={!reason.trim()}>
            Cancel appointment
          </button>
          <button type="button" className="secondary" onClick={onClose}>
            Keep it
          </button>
        </div>
      </form>
    </Modal>
  );
}

export type { BookView };
