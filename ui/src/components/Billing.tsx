// Billing's worklist: overdue invoices across patients, most overdue first. From the desk's cache,
// refreshed from the server when it answers; opening a line opens the patient's chart.
import { useQuery } from "@tanstack/react-query";
import { useBackend } from "../backend/context";
import { formatDate, formatMoney } from "../format";
import { InvoiceBadge } from "./ChartInvoices";
import { QueryState } from "./Loading";

export function Billing({ onOpenChart }: { onOpenChart: (patientId: string) => void }) {
  const backend = useBackend();
  const list = useQuery({
    queryKey: ["overdue_invoices"],
    queryFn: () => backend.invoke("overdue_invoices", {}),
  });
  return (
    <section className="card billing" aria-labelledby="billing-title">
      <div className="screen-head">
        <h1 id="billing-title">Overdue invoices</h1>
        {list.data && (
          <span className="list-meta">
            {list.data.invoices.length} invoice{list.data.invoices.length === 1 ? "" : "s"} ·{" "}
            {formatMoney(list.data.totalBalance)} outstanding
          </span>
        )}
        <button type="button" className="secondary" onClick={() => void list.refetch()} disabled={list.isFetching}>
          {list.isFetching ? "Refreshing…" : "Refresh"}
        </button>
      </div>
      {list.data?.fromCache && (
        <p className="notice" role="note">
          The server cannot be reached: this list is what this desk has cached.
        </p>
      )}
      {!list.data && <QueryState pending={list.isPending} error={list.error} what="invoices" />}
      {list.data && list.data.invoices.length === 0 && <p className="hint">No overdue invoices.</p>}
      {list.data && list.data.invoices.length > 0 && (
        <table className="table">
          <caption className="visually-hidden">Overdue invoices, most overdue first</caption>
          <thead>
            <tr>
              <th scope="col">Patient</th>
              <th scope="col">Invoice</th>
              <th scope="col">Due</th>
              <th scope="col" className="money">
                Days overdue
              </th>
              <th scope="col">Status</th>
              <th scope="col" className="money">
                Amount
              </th>
              <th scope="col" className="money">
                Balance
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data.invoices.map(({ invoice, patientName, daysOverdue }) => (
              <tr key={invoice.id}>
                <td>
                  <button type="button" className="link-button" onClick={() => onOpenChart(invoice.patientId)}>
                    {patientName ?? invoice.patientId}
                  </button>
                </td>
                <td>{invoice.id}</td>
                <td>{formatDate(invoice.dueDate)}</td>
                <td className="money">{daysOverdue}</td>
                <td>
                  <InvoiceBadge status={invoice.status} />
                </td>
                <td className="money">{formatMoney(invoice.amount)}</td>
                <td className="money">{formatMoney(invoice.balance)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
