// The desk's sections beyond patients: billing's overdue worklist, the conflict list, and the
// administrator's updates and audit log. Each is offered only to whom it serves, and says why where a person
// would look for it.
import type { SessionInfo } from "../bindings/SessionInfo";
import { AuditLogView } from "./AuditLogView";
import { Billing } from "./Billing";
import { Conflicts } from "./Conflicts";
import { UpdatesPanel } from "./Updates";

export type DeskSection = { kind: "billing" } | { kind: "conflicts" } | { kind: "admin" };

const SECTION_KINDS: ReadonlySet<string> = new Set(["billing", "conflicts", "admin"]);

export function deskSectionView(view: { kind: string }): view is DeskSection {
  return SECTION_KINDS.has(view.kind);
}

export function DeskSectionNav({
  session,
  current,
  onOpen,
}: {
  session: SessionInfo;
  current: string;
  onOpen: (view: DeskSection) => void;
}) {
  const items: Array<{ kind: DeskSection["kind"]; label: string; shown: boolean }> = [
    { kind: "billing", label: "Billing", shown: session.offers.readInvoices },
    { kind: "conflicts", label: "Conflicts", shown: true },
    { kind: "admin", label: "Admin", shown: session.offers.administer },
  ];
  return (
    <>
      {items
        .filter((item) => item.shown)
        .map((item) => (
          <li key={item.kind}>
            <button
              type="button"
              className="nav-item"
              aria-current={current === item.kind ? "page" : undefined}
              onClick={() => onOpen({ kind: item.kind })}
            >
              {item.label}
            </button>
          </li>
        ))}
    </>
  );
}

export function DeskSections({
  view,
  session,
  onOpenChart,
}: {
  view: DeskSection;
  session: SessionInfo;
  onOpenChart: (patientId: string) => void;
}) {
  switch (view.kind) {
    case "billing":
      return <Billing onOpenChart={onOpenChart} />;
    case "conflicts":
      return <Conflicts />;
    case "admin":
      return session.offers.administer ? (
        <>
          <UpdatesPanel />
          <AuditLogView />
        </>
      ) : (
        <section className="card" aria-labelledby="admin-title">
          <h1 id="admin-title">Admin</h1>
          <p role="note">Only an administrator can see the audit log.</p>
        </section>
      );
  }
}
