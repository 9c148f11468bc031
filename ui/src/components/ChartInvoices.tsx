// Invoices: status, amount and balance at a glance; opening one shows its items (CPT codes),
// payments and adjustments (and the desk records that it was opened); billing takes a payment there
// (through the outbox, pending until the server confirms it).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useBackend } from "../backend/context";
import { BackendError } from "../backend/error";
import type { InvoiceStatus } from "../bindings/InvoiceStatus";
import type { SessionInfo } from "../bindings/SessionInfo";
import { SESSION_KEY } from "../queries";
import { formatDate, formatMoney } from "../format";
import type { DocumentRef } from "../bindings/DocumentRef";
import { DocumentViewer } from "./DocumentViewer";
import { QueryState } from "./Loading";
import { CONFLICTS_KEY } from "./Conflicts";
import { useDeskNavigation } from "./navigation";

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

const PAYMENT_METHODS = ["Cash", "Check", "Credit Card", "Debit Card", "Insurance", "Bank Transfer"];

function TakePayment({
  invoiceId,
  balance,
  onReceipt,
}: {
  invoiceId: string;
  balance: number;
  onReceipt: (paymentId: string) => void;
}) {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const [method, setMethod] = useState("");
  const [amount, setAmount] = useState("");
  const [reference, setReference] = useState("");
  const take = useMutation({
    mutationFn: () =>
      backend.invoke("take_payment", {
        invoiceId,
        payment: { method, amount: Number(amount), ...(reference.trim() ? { reference: reference.trim() } : {}) },
      }),
    onSuccess: (taken) => {
      queryClient.setQueryData(["open_invoice", invoiceId], taken.invoice);
      void queryClient.invalidateQueries({ queryKey: ["patient_invoices"] });
      setAmount("");
      setReference("");
    },
  });
  const error = take.error ? BackendError.from(take.error) : null;
  const problem = (field: string) => error?.details?.find((d) => d.field === field)?.issue;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    take.mutate();
  };
  return (
    <form className="take-payment" onSubmit={submit} noValidate aria-labelledby={`pay-${invoiceId}`}>
      <h3 id={`pay-${invoiceId}`}>Take a payment</h3>
      <div className="field-row field-row-3">
        <div className="field">
          <label htmlFor={`pay-method-${invoiceId}`}>Method</label>
          <select
            id={`pay-method-${invoiceId}`}
            value={method}
            onChange={(e) => setMethod(e.target.value)}
            aria-invalid={problem("method") ? true : undefined}
          >
            <option value="">Choose…</option>
            {PAYMENT_METHODS.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
          {problem("method") && <span className="field-problem">{problem("method")}</span>}
        </div>
        <div className="field">
          <label htmlFor={`pay-amount-${invoiceId}`}>Amount (USD)</label>
          <input
            id={`pay-amount-${invoiceId}`}
            type="number"
            inputMode="decimal"
            min="0.01"
            step="0.01"
            max={balance}
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
            aria-invalid={problem("amount") ? true : undefined}
            aria-describedby={problem("amount") ? `pay-amount-problem-${invoiceId}` : undefined}
          />
          {problem("amount") && (
            <span id={`pay-amount-problem-${invoiceId}`} className="field-problem">
              {problem("amount")}
            </span>
          )}
        </div>
        <div className="field">
          <label htmlFor={`pay-ref-${invoiceId}`}>Reference</label>
          <input id={`pay-ref-${invoiceId}`} value={reference} onChange={(e) => setReference(e.target.value)} />
        </div>
      </div>
      {error && !error.details && (
        <p className="error" role="alert">
          {error.message}
        </p>
      )}
      {take.isSuccess && (
        <p role="status" className="pending-note">
          Payment of {formatMoney(take.data.payment.amount)} taken: pending confirmation by the server.{" "}
          <button type="button" className="link-button" onClick={() => onReceipt(take.data.payment.id)}>
            Print or save the receipt
          </button>
        </p>
      )}
      <div className="form-actions">
        <button type="submit" disabled={take.isPending || method === "" || amount === ""}>
          {take.isPending ? "Saving…" : "Take payment"}
        </button>
        <span className="hint">Checked against the balance on this desk; sent when the server can be reached.</span>
      </div>
    </form>
  );
}

function InvoiceView({ invoiceId }: { invoiceId: string }) {
  const backend = useBackend();
  const queryClient = useQueryClient();
  const session = queryClient.getQueryData<SessionInfo | null>(SESSION_KEY);
  const [viewing, setViewing] = useState<{ document: DocumentRef; title: string } | null>(null);
  const receipt = (paymentId: string) =>
    setViewing({ document: { kind: "receipt", invoiceId, paymentId }, title: `Receipt for invoice ${invoiceId}` });
  const invoice = useQuery({
    queryKey: ["open_invoice", invoiceId],
    queryFn: () => backend.invoke("open_invoice", { invoiceId }),
  });
  // A payment the server refused stays on the invoice (its outbox entry waits on the conflict
  // list) until someone decides; say so instead of "pending confirmation".
  const conflicts = useQuery({ queryKey: CONFLICTS_KEY, queryFn: () => backend.invoke("conflicts", {}) });
  const navigation = useDeskNavigation();
  if (!invoice.data) return <QueryState pending={invoice.isPending} error={invoice.error} what="invoice" />;
  const inv = invoice.data;
  const refused = new Set(
    (conflicts.data ?? []).filter((c) => c.entityKind === "payment").map((c) => c.entityId),
  );
  return (
    <section className="invoice" aria-labelledby={`invoice-${inv.id}`}>
      <h2 id={`invoice-${inv.id}`}>
        Invoice {inv.id} <InvoiceBadge status={inv.status} />
      </h2>
      <div className="form-actions">
        <button
          type="button"
          className="secondary"
          onClick={() => setViewing({ document: { kind: "invoice_pdf", invoiceId: inv.id }, title: `Invoice ${inv.id}` })}
        >
          View PDF
        </button>
      </div>
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
              {refused.has(pay.id) ? (
                <button
                  type="button"
                  className="badge badge-refused payment-pending"
                  onClick={() => navigation?.openConflicts()}
                  disabled={!navigation}
                >
                  Refused — see Conflicts
                </button>
              ) : (
                pay.id.startsWith("local-") && <span className="badge badge-pending payment-pending">Pending confirmation</span>
              )}{" "}
              {/* A refused payment was not received as far as the server knows: no receipt for it. */}
              {!refused.has(pay.id) && (
                <button
                  type="button"
                  className="link-button"
                  aria-label={`Receipt for the payment of ${formatMoney(pay.amount)} on ${formatDate(pay.date)}`}
                  onClick={() => receipt(pay.id)}
                >
                  Receipt
                </button>
              )}
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
      {session?.offers.takePayments && Number(inv.balance) > 0 && (
        <TakePayment invoiceId={inv.id} balance={Number(inv.balance)} onReceipt={receipt} />
      )}
      {viewing && <DocumentViewer document={viewing.document} title={viewing.title} onClose={() => setViewing(null)} />}
    </section>
  );
}
