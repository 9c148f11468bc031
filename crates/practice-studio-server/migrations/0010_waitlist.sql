-- The waitlist (extension): one row per entry, the entry's JSON as the routes return it.
CREATE TABLE waitlist (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    patient_id TEXT NOT NULL REFERENCES patients (id),
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX waitlist_status ON waitlist (status, seq);
CREATE INDEX waitlist_patient ON waitlist (patient_id, seq);
CREATE INDEX waitlist_updated ON waitlist (updated, seq);
