-- Medical records and their attachments.
CREATE TABLE records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    patient_id TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    type TEXT NOT NULL,
    -- UTC instant (RFC 3339 with microseconds, fixed width: text order is time order)
    date TEXT NOT NULL,
    title TEXT NOT NULL,
    -- the SOAP note as JSON; NULL for a generated demo note, which `template` names instead
    -- (a million patients' notes would otherwise be most of the demo database)
    content TEXT,
    template INTEGER,
    created TEXT NOT NULL
);
CREATE INDEX records_patient_date ON records (patient_id, date, seq);

-- An attachment's bytes are made from its row and its record (`kind` says which document), so the
-- same attachment always downloads the same bytes; nothing large is stored.
CREATE TABLE attachments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    record_id TEXT NOT NULL REFERENCES records (id),
    kind TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE INDEX attachments_record ON attachments (record_id, seq);
