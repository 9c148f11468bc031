// The book's two places in the desk's navigation: Today (the flow board) and Book (the day and
// week views), shown to roles that read appointments.
import type { AppStatus } from "../bindings/AppStatus";
import type { SessionInfo } from "../bindings/SessionInfo";
import { AppointmentBook } from "./AppointmentBook";
import { FlowBoard } from "./FlowBoard";

export type BookSection = { kind: "today" } | { kind: "book"; bookFor?: { patientId: string; nonce: number } };

export function isBookSection(view: { kind: string }): view is BookSection {
  return view.kind === "today" || view.kind === "book";
}

export function BookSectionNav({
  session,
  current,
  onOpen,
}: {
  session: SessionInfo;
  current: string;
  onOpen: (section: BookSection) => void;
}) {
  if (!session.offers.readAppointments) return null;
  return (
    <>
      <li>
        <button
          type="button"
          className="nav-item"
          aria-current={current === "today" ? "page" : undefined}
          onClick={() => onOpen({ kind: "today" })}
        >
          Today
        </button>
      </li>
      <li>
        <button
          type="button"
          className="nav-item"
          aria-current={current === "book" ? "page" : undefined}
          onClick={() => onOpen({ kind: "book" })}
        >
          Book
        </button>
      </li>
    </>
  );
}

export function BookSectionView({ view, status, session }: { view: BookSection; status: AppStatus; session: SessionInfo }) {
  const canBook = session.offers.bookAppointments;
  return view.kind === "today" ? (
    <FlowBoard today={status.today} canBook={canBook} />
  ) : (
    <AppointmentBook today={status.today} canBook={canBook} bookFor={view.bookFor} />
  );
}
