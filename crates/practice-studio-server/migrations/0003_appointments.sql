-- Appointments. The body is the appointment as the API returns it; the columns beside it are what
-- lists filter and sort on and what the clash check reads.
CREATE TABLE appointments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    patient_id TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    location_id TEXT NOT NULL,
    -- UTC instants (RFC 3339, fixed width, so text order is time order)
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL,
    -- the calendar date of the start at the location (its time zone): what start_date and
    -- end_date filter on
    local_date TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX appointments_provider_time ON appointments (provider_id, start_time);
CREATE INDEX appointments_patient_time ON appointments (patient_id, start_time);
CREATE INDEX appointments_date ON appointments (local_date, start_time, id);
CREATE INDEX appointments_updated ON appointments (updated, id);
