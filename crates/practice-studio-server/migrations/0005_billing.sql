-- Invoices, payments and adjustments. Money is integer cents (exact); the API writes it as
-- decimals. Totals are kept on the invoice row, updated in the transaction that adds a payment, so
-- lists can filter by status (derived from them and the day) in SQL.
CREATE TABLE invoices (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    patient_id TEXT NOT NULL,
    date TEXT NOT NULL,
    due_date TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    paid_cents INTEGER NOT NULL DEFAULT 0,
    adjusted_cents INTEGER NOT NULL DEFAULT 0,
    -- the items as the API returns them (JSON array)
    items TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX invoices_patient_date ON invoices (patient_id, date, seq);
CREATE INDEX invoices_date ON invoices (date, seq);
-- What billing's overdue list reads: only unpaid invoices, by due date.
CREATE INDEX invoices_unpaid ON invoices (due_date, seq) WHERE paid_cents + adjusted_cents < amount_cents;

CREATE TABLE payments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    invoice_id TEXT NOT NULL REFERENCES invoices (id),
    date TEXT NOT NULL,
    method TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    reference TEXT,
    created TEXT NOT NULL
);
CREATE INDEX payments_invoice ON payments (invoice_id, seq);

CREATE TABLE adjustments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    invoice_id TEXT NOT NULL REFERENCES invoices (id),
    date TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX adjustments_invoice ON adjustments (invoice_id, seq);
