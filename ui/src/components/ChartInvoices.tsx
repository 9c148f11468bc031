// Invoices: status, amount and balance at a glance; opening one shows its items (CPT codes),
// payments and adjustments (and the desk records that it was opened).
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useBackend } from "../backend/context";
import type { InvoiceStatus } from "../bindings/InvoiceStatus";
import { formatDate, formatMoney } from "../format";
import { QueryState } from "./Loading";

const STATUS_LABEL: Record<InvoiceStatus, string> = { open: "Open", paid: "Paid", overdue: "Overdue" };

export function InvoiceBadge({ status }: { status: InvoiceStatus }) {
  return <span className={`badge invoice-${status}`}>{STATUS_LABEL[status]}</span>;
}

export function Invoices({ patientId }: { patientId: string }) {
  const backend = useBackend();
  const [open, setOpen] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ["patient_invoices", patientId],
    queryFn: () => backend.invoke("patient_invoices", { patientId }),
  });
  if (!list.data) return <QueryState pending={list.isPending} error={list.error} what="invoices" />;
  if (list.data.length === 0) return <p className="hint">No invoices.</p>;
  return (
    <div className="invoices">
      <table className="table">
        <caption className="visually-hidden">Invoices, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Invoice</th>
            <th scope="col">Date</th>
            <th scope="col">Due</th>
            <th scope="col">Status</th>
            <th scope="col" className="money">Amount</th>
            <th scope="col" className="money">Balance</th>
          </tr>
        </thead>
        <tbody>
          {list.data.map((inv) => (
            <tr key={inv.id} className={inv.id === open ? "current" : undefined}>
              <td>
                <button type="button" className="link-button" onClick={() => setOpen(inv.id)} aria-expanded={inv.id === open}>
                  {inv.id}
                </button>
              </td>
              <td>{formatDate(inv.date)}</td>
              <td>{formatDate(inv.dueDate)}</td>
              <td>
                <InvoiceBadge status={inv.status} />
              </td>
              <td className="money">{formatMoney(inv.amount)}</td>
              <td className="money">{formatMoney(inv.balance)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {open && <InvoiceView invoiceId={open} />}
    </div>
  );
}

function InvoiceView({ invoiceId }: { invoiceId: string }) {
  const backend = useBackend();
  const invoice = useQuery({
    queryKey: ["open_invoice", invoiceId],
    queryFn: () => backend.invoke("open_invoice", { invoiceId }),
  });
  if (!invoice.data) return <QueryState pending={invoice.isPending} error={invoice.error} what="invoice" />;
  const inv = invoice.data;
  return (
    <section className="invoice" aria-labelledby={`invoice-${inv.id}`}>
      <h2 id={`invoice-${inv.id}`}>
        Invoice {inv.id} <InvoiceBadge status={inv.status} />
      </h2>
      <table className="table">
        <caption className="visually-hidden">Items</caption>
        <thead>
          <tr>
            <th scope="col">CPT</th>
            <th scope="col">Service</th>
            <th scope="col" className="money">Qty</th>
            <th scope="col" className="money">Unit price</th>
            <th scope="col" className="money">Total</th>
          </tr>
        </thead>
        <tbody>
          {inv.items.map((item, i) => (
            <tr key={`${item.code}-${i}`}>
              <td>{item.code}</td>
              <td>{item.description}</td>
              <td className="money">{item.quantity}</td>
              <td className="money">{formatMoney(item.unitPrice)}</td>
              <td className="money">{formatMoney(item.total)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <dl className="totals">
        <dt>Amount</dt>
        <dd className="money">{formatMoney(inv.amount)}</dd>
        {inv.payments.map((pay) => (
          <div key={pay.id} className="totals-row">
            <dt>
              Paid {formatDate(pay.date)} · {pay.method}
            </dt>
            <dd className="money">−{formatMoney(pay.amount)}</dd>
          </div>
        ))}
        {inv.adjustments.map((adj) => (
          <div key={adj.id} className="totals-row">
            <dt>
              {adj.kind === "insurance" ? "Insurance adjustment" : "Write-off"} · {adj.reason}
            </dt>
            <dd className="money">−{formatMoney(adj.amount)}</dd>
          </div>
        ))}
        <dt className="balance">Balance</dt>
        <dd className="money balance">{formatMoney(inv.balance)}</dd>
      </dl>
    </section>
  );
}
