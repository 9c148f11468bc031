-- The book and billing offline: appointments and payments changed on this desk.

-- The server's newest copy of an appointment whose local change still waits in the outbox (as
-- `held_patients` for patients): sync does not overwrite the pending row, and the change's
-- accepted answer may be older than this copy, so the newer of the two wins when it is recorded.
CREATE TABLE held_appointments (
    id      TEXT PRIMARY KEY NOT NULL,
    version INTEGER NOT NULL,
    body    TEXT NOT NULL
);
-- Which cached rows were read ahead (records and invoices of patients booked soon) and when.
ALTER TABLE records ADD COLUMN fetched TEXT;
ALTER TABLE invoices ADD COLUMN fetched TEXT;
