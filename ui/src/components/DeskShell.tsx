// The signed-in desk: top bar (search, who is signed in), left navigation, the current screen,
// and the status bar. Keyboard: Ctrl+K or / focuses the search from anywhere, Ctrl+N starts a
// registration.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { useBackend } from "../backend/context";
import type { AppStatus } from "../bindings/AppStatus";
import type { SessionInfo } from "../bindings/SessionInfo";
import type { SyncView } from "../bindings/SyncView";
import type { LockView } from "../bindings/LockView";
import { LOCK_KEY, SESSION_KEY, SHELL_KEYS, SYNC_STATUS_KEY } from "../queries";
import { AccountMenu } from "./AccountMenu";
import { type BookSection, BookSectionNav, BookSectionView, isBookSection } from "../book/BookSections";
import { DeskSections, type DeskSection, deskSectionView, DeskSectionNav } from "./DeskSections";
import { reportActivity } from "./activity";
import { Chart, chartKey } from "./Chart";
import { EditPatient } from "./EditPatient";
import { DeskNavigationContext } from "./navigation";
import { PatientSearch } from "./PatientSearch";
import { PatientsHome } from "./PatientsHome";
import { RegisterPatient } from "./RegisterPatient";
import { ShortcutsDialog } from "./ShortcutsDialog";
import { type FirstSyncProgress, StatusBar } from "./StatusBar";
import { UpdateNotice } from "./Updates";
import { markOnce } from "../timing";

const ROLE_NAME: Record<string, string> = {
  reception: "Reception",
  clinician: "Clinician",
  billing: "Billing",
  admin: "Administrator",
};

export type View =
  | { kind: "patients" }
  | { kind: "chart"; patientId: string }
  | { kind: "edit"; patientId: string }
  | { kind: "register" }
  | BookSection
  | DeskSection;

function isEditable(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

export function DeskShell({
  status,
  session,
  lockAfterSeconds,
}: {
  status: AppStatus;
  session: SessionInfo;
  lockAfterSeconds: number;
}) {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const [view, setView] = useState<View>({ kind: "patients" });
  const navigation = useMemo(() => ({ openConflicts: () => setView({ kind: "conflicts" }) }), []);
  const [progress, setProgress] = useState<FirstSyncProgress | null>(null);
  const [showShortcuts, setShowShortcuts] = useState(false);
  useEffect(() => markOnce("frontdesk:desk-shown"), []);
  const searchRef = useRef<HTMLInputElement>(null);
  const viewRef = useRef(view);
  viewRef.current = view;
  const mayBook = useRef(session.offers.bookAppointments);
  mayBook.current = session.offers.bookAppointments;

  const sync = useQuery({
    queryKey: SYNC_STATUS_KEY,
    queryFn: () => backend.invoke("sync_status", {}),
  });
  const switchUser = useMutation({
    mutationFn: () => backend.invoke("switch_user", {}),
    onSuccess: () => {
      queryClient.setQueryData(SESSION_KEY, null);
      queryClient.removeQueries({ predicate: (q) => !SHELL_KEYS.has(String(q.queryKey[0])) });
    },
  });
  const lock = useMutation({
    mutationFn: () => backend.invoke("lock", {}),
    onSuccess: () => {
      queryClient.removeQueries({ predicate: (q) => !SHELL_KEYS.has(String(q.queryKey[0])) });
      queryClient.setQueryData<LockView>(LOCK_KEY, (old) => (old ? { ...old, locked: true } : old));
    },
  });
  const lockNow = useRef(lock.mutate);
  lockNow.current = lock.mutate;

  useEffect(() => reportActivity(backend, lockAfterSeconds), [backend, lockAfterSeconds]);

  useEffect(
    () =>
      backend.subscribe((event) => {
        if (event.type === "sync_status_changed") {
          queryClient.setQueryData<SyncView | null>(SYNC_STATUS_KEY, event.sync);
        } else if (event.type === "sync") {
          const e = event.event;
          if (e.type === "progress") {
            setProgress({ collection: e.collection, done: Number(e.done), total: Number(e.total) });
          } else if (e.type === "first_sync_done") {
            setProgress(null);
            void queryClient.invalidateQueries({ queryKey: ["search_patients"] });
          } else if (e.type === "changed" && e.collection === "patients") {
            void queryClient.invalidateQueries({ queryKey: ["search_patients"] });
            void queryClient.invalidateQueries({ queryKey: ["recent_patients"] });
            for (const id of e.ids) void queryClient.invalidateQueries({ queryKey: chartKey(id) });
          } else if (e.type === "write_accepted" || e.type === "write_refused") {
            const current = viewRef.current;
            if (e.type === "write_accepted" && e.localId && current.kind === "chart" && current.patientId === e.localId) {
              setView({ kind: "chart", patientId: e.entityId });
            }
            void queryClient.invalidateQueries({ queryKey: ["open_chart"] });
            // A payment's confirmation (or refusal) changes the invoice and the balance shown.
            void queryClient.invalidateQueries({ queryKey: ["open_invoice"] });
            void queryClient.invalidateQueries({ queryKey: ["patient_invoices"] });
            void queryClient.invalidateQueries({ queryKey: ["overdue_invoices"] });
            void queryClient.invalidateQueries({ queryKey: ["conflicts"] });
          }
        } else if (event.type === "session_changed") {
          queryClient.setQueryData(SESSION_KEY, event.session);
        }
      }),
    [backend, queryClient],
  );

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const ctrl = event.ctrlKey || event.metaKey;
      if ((ctrl && event.key.toLowerCase() === "k") || (event.key === "/" && !ctrl && !isEditable(event.target))) {
        event.preventDefault();
        searchRef.current?.focus();
        searchRef.current?.select();
      } else if (ctrl && event.key.toLowerCase() === "n") {
        event.preventDefault();
        setView({ kind: "register" });
      } else if (ctrl && event.key.toLowerCase() === "l") {
        event.preventDefault();
        lockNow.current();
      } else if (event.key === "?" && !ctrl && !isEditable(event.target)) {
        event.preventDefault();
        setShowShortcuts(true);
      } else if ((event.key === "b" || event.key === "B") && !ctrl && !event.altKey && !isEditable(event.target)) {
        // `B` on a chart books for that patient (the book's own `B` handles the book).
        const current = viewRef.current;
        if (current.kind === "chart" && mayBook.current && !document.querySelector("dialog[open]")) {
          event.preventDefault();
          setView({ kind: "book", bookFor: { patientId: current.patientId, nonce: Date.now() } });
        }
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const openChart = (patientId: string) => setView({ kind: "chart", patientId });
  const mayRegister = session.offers.registerPatients;

  return (
    <div className="app desk">
      <header className="topbar">
        <span className="brand" aria-label="Front Desk">
          <span className="brand-mark" aria-hidden="true">
            +
          </span>
          Front Desk
        </span>
        <PatientSearch inputRef={searchRef} onOpen={openChart} />
        <span className="topbar-spacer" />
        <AccountMenu session={session} />
        <button
          type="button"
          className="secondary icon-button"
          aria-label="Keyboard shortcuts"
          aria-keyshortcuts="?"
          title="Keyboard shortcuts (?)"
          onClick={() => setShowShortcuts(true)}
        >
          ?
        </button>
        <button
          type="button"
          className="secondary"
          aria-keyshortcuts="Control+L"
          title="Lock the desk (Ctrl+L)"
          onClick={() => lock.mutate()}
          disabled={lock.isPending}
        >
          Lock
        </button>
        <button type="button" className="secondary" onClick={() => switchUser.mutate()} disabled={switchUser.isPending}>
          Switch user
        </button>
      </header>
      <nav className="sidenav" aria-label="Sections">
        <ul>
          <BookSectionNav session={session} current={view.kind} onOpen={setView} />
          <li>
            <button
              type="button"
              className="nav-item"
              aria-current={["patients", "chart", "edit"].includes(view.kind) ? "page" : undefined}
              onClick={() => setView({ kind: "patients" })}
            >
              Patients
            </button>
          </li>
          {mayRegister && (
            <li>
              <button
                type="button"
                className="nav-item"
                aria-current={view.kind === "register" ? "page" : undefined}
                aria-keyshortcuts="Control+N"
                title="New patient (Ctrl+N)"
                onClick={() => setView({ kind: "register" })}
              >
                New patient <kbd>Ctrl+N</kbd>
              </button>
            </li>
          )}
          <DeskSectionNav session={session} current={view.kind} onOpen={setView} />
        </ul>
      </nav>
      <main className="main" id="main">
        {session.offers.administer && <UpdateNotice />}
        <DeskNavigationContext.Provider value={navigation}>
        {isBookSection(view) && <BookSectionView view={view} status={status} session={session} />}
        {view.kind === "patients" && (
          <PatientsHome onOpen={openChart} onRegister={mayRegister ? () => setView({ kind: "register" }) : undefined} />
        )}
        {view.kind === "chart" && (
          <Chart
            key={view.patientId}
            patientId={view.patientId}
            onEdit={session.offers.editPatients ? () => setView({ kind: "edit", patientId: view.patientId }) : undefined}
          />
        )}
        {deskSectionView(view) && <DeskSections view={view as DeskSection} session={session} onOpenChart={openChart} />}
        {view.kind === "edit" && <EditPatient key={view.patientId} patientId={view.patientId} onDone={openChart} />}
        {view.kind === "register" &&
          (mayRegister ? (
            <RegisterPatient onOpen={openChart} />
          ) : (
            <section className="card" aria-labelledby="no-register-title">
              <h1 id="no-register-title">Register a new patient</h1>
              <p role="note">
                Your role ({ROLE_NAME[session.role] ?? session.role}) does not change patients' details; reception or a
                clinician can.
              </p>
            </section>
          ))}
        </DeskNavigationContext.Provider>
      </main>
      {showShortcuts && <ShortcutsDialog onClose={() => setShowShortcuts(false)} />}
      <StatusBar status={status} view={sync.data ?? null} viewAt={sync.dataUpdatedAt} progress={progress} />
    </div>
  );
}
