-- Practice Studio server schema (PostgreSQL): the same tables as migrations/ (SQLite) in one step.
--
-- Instants are kept as on SQLite: RFC 3339 UTC text with microseconds, fixed width, so text order
-- is time order and the two engines share every query's shape and every stored value. Every text
-- column is COLLATE "C" (byte order, as SQLite's BINARY), whatever locale the database has: ids,
-- instants and names sort the same on both engines. Integers are bigint; JSON bodies are the text
-- the API returns (served without re-encoding).

CREATE TABLE users (
    id TEXT COLLATE "C" PRIMARY KEY,
    email TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    role TEXT COLLATE "C" NOT NULL,
    password_hash TEXT COLLATE "C" NOT NULL,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until TEXT COLLATE "C",
    active BIGINT NOT NULL DEFAULT 1
);
-- SQLite's email column is COLLATE NOCASE UNIQUE.
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE clients (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    secret_hash TEXT COLLATE "C",
    tier TEXT COLLATE "C" NOT NULL,
    rate_per_minute BIGINT NOT NULL,
    scopes TEXT COLLATE "C" NOT NULL,
    grants TEXT COLLATE "C" NOT NULL,
    active BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE api_keys (
    id TEXT COLLATE "C" PRIMARY KEY,
    key_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    name TEXT COLLATE "C" NOT NULL,
    tier TEXT COLLATE "C" NOT NULL,
    rate_per_minute BIGINT NOT NULL,
    scopes TEXT COLLATE "C" NOT NULL,
    revoked BIGINT NOT NULL DEFAULT 0,
    created TEXT COLLATE "C" NOT NULL
);

CREATE TABLE tokens (
    hash TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT COLLATE "C" NOT NULL,
    client_id TEXT COLLATE "C" NOT NULL,
    user_id TEXT COLLATE "C",
    scopes TEXT COLLATE "C" NOT NULL,
    family TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL,
    revoked BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tokens_family ON tokens (family);
CREATE INDEX tokens_user ON tokens (user_id);
CREATE INDEX tokens_client ON tokens (client_id);

CREATE TABLE auth_codes (
    hash TEXT COLLATE "C" PRIMARY KEY,
    client_id TEXT COLLATE "C" NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL,
    redirect_uri TEXT COLLATE "C" NOT NULL,
    scopes TEXT COLLATE "C" NOT NULL,
    code_challenge TEXT COLLATE "C",
    expires_at TEXT COLLATE "C" NOT NULL,
    used BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE patients (
    seq BIGINT PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    mrn TEXT COLLATE "C" NOT NULL UNIQUE,
    first_name TEXT COLLATE "C" NOT NULL,
    last_name TEXT COLLATE "C" NOT NULL,
    date_of_birth TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    updated TEXT COLLATE "C" NOT NULL,
    search_text TEXT COLLATE "C" NOT NULL,
    body TEXT COLLATE "C" NOT NULL,
    summary TEXT COLLATE "C" NOT NULL
);
CREATE INDEX patients_name ON patients (lower(last_name), lower(first_name), id);
CREATE INDEX patients_dob ON patients (date_of_birth, id);
CREATE INDEX patients_updated ON patients (updated, id);
CREATE INDEX patients_status ON patients (status, seq);
CREATE INDEX patients_given ON patients (lower(first_name), id);
CREATE INDEX patients_mrn_nocase ON patients (lower(mrn));

CREATE TABLE idempotency_keys (
    scope TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    method TEXT COLLATE "C" NOT NULL,
    path TEXT COLLATE "C" NOT NULL,
    body_hash TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    lease_until TEXT COLLATE "C" NOT NULL,
    status BIGINT,
    location TEXT COLLATE "C",
    etag TEXT COLLATE "C",
    response TEXT COLLATE "C",
    created TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_created ON idempotency_keys (created);

CREATE TABLE locations (
    id TEXT COLLATE "C" PRIMARY KEY,
    position BIGINT NOT NULL,
    body TEXT COLLATE "C" NOT NULL,
    updated TEXT COLLATE "C" NOT NULL DEFAULT ''
);

CREATE TABLE providers (
    id TEXT COLLATE "C" PRIMARY KEY,
    position BIGINT NOT NULL,
    body TEXT COLLATE "C" NOT NULL,
    updated TEXT COLLATE "C" NOT NULL DEFAULT ''
);

CREATE TABLE appointment_types (
    name TEXT COLLATE "C" PRIMARY KEY,
    position BIGINT NOT NULL,
    body TEXT COLLATE "C" NOT NULL
);

CREATE TABLE appointments (
    seq BIGINT PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    patient_id TEXT COLLATE "C" NOT NULL,
    provider_id TEXT COLLATE "C" NOT NULL,
    location_id TEXT COLLATE "C" NOT NULL,
    start_time TEXT COLLATE "C" NOT NULL,
    end_time TEXT COLLATE "C" NOT NULL,
    local_date TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    updated TEXT COLLATE "C" NOT NULL,
    body TEXT COLLATE "C" NOT NULL
);
CREATE INDEX appointments_provider_time ON appointments (provider_id, start_time);
CREATE INDEX appointments_patient_time ON appointments (patient_id, start_time);
CREATE INDEX appointments_date ON appointments (local_date, start_time, id);
CREATE INDEX appointments_updated ON appointments (updated, id);

CREATE TABLE records (
    seq BIGINT PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    patient_id TEXT COLLATE "C" NOT NULL,
    provider_id TEXT COLLATE "C" NOT NULL,
    type TEXT COLLATE "C" NOT NULL,
    date TEXT COLLATE "C" NOT NULL,
    title TEXT COLLATE "C" NOT NULL,
    content TEXT COLLATE "C",
    template BIGINT,
    created TEXT COLLATE "C" NOT NULL
);
CREATE INDEX records_patient_date ON records (patient_id, date, seq);

CREATE TABLE attachments (
    seq BIGINT PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    record_id TEXT COLLATE "C" NOT NULL REFERENCES records (id),
    kind TEXT COLLATE "C" NOT NULL,
    filename TEXT COLLATE "C" NOT NULL,
    content_type TEXT COLLATE "C" NOT NULL,
    uploaded_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX attachments_record ON attachments (record_id, seq);

CREATE TABLE invoices (
    seq BIGINT PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    patient_id TEXT COLLATE "C" NOT NULL,
    date TEXT COLLATE "C" NOT NULL,
    due_date TEXT COLLATE "C" NOT NULL,
    amount_cents BIGINT NOT NULL,
    paid_cents BIGINT NOT NULL DEFAULT 0,
    adjusted_cents BIGINT NOT NULL DEFAULT 0,
    items TEXT COLLATE "C" NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    updated TEXT COLLATE "C"
);
CREATE INDEX invoices_patient_date ON invoices (patient_id, date, seq);
CREATE INDEX invoices_date ON invoices (date, seq);
CREATE INDEX invoices_unpaid ON invoices (due_date, seq) WHERE paid_cents + adjusted_cents < amount_cents;

CREATE TABLE payments (
    seq BIGINT PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    invoice_id TEXT COLLATE "C" NOT NULL REFERENCES invoices (id),
    date TEXT COLLATE "C" NOT NULL,
    method TEXT COLLATE "C" NOT NULL,
    amount_cents BIGINT NOT NULL,
    reference TEXT COLLATE "C",
    created TEXT COLLATE "C" NOT NULL
);
CREATE INDEX payments_invoice ON payments (invoice_id, seq);

CREATE TABLE adjustments (
    seq BIGINT PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    invoice_id TEXT COLLATE "C" NOT NULL REFERENCES invoices (id),
    date TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    amount_cents BIGINT NOT NULL,
    reason TEXT COLLATE "C" NOT NULL
);
CREATE INDEX adjustments_invoice ON adjustments (invoice_id, seq);

-- The event log. `seq` is the change feed's cursor and must be commit order across every
-- instance: it is not a sequence (nextval hands out numbers at insert time, so a later number can
-- commit first) but the 'events' counter in `counters`, bumped by the writing transaction, which
-- holds the writers' advisory lock until it commits (see storage/postgres/mod.rs).
CREATE TABLE events (
    seq BIGINT PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    type TEXT COLLATE "C" NOT NULL,
    scope TEXT COLLATE "C" NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    body TEXT COLLATE "C" NOT NULL
);
CREATE INDEX events_created ON events (created);

CREATE TABLE server_meta (
    key TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);
INSERT INTO server_meta (key, value) VALUES ('event_epoch', md5(random()::text || clock_timestamp()::text)::varchar(16));
INSERT INTO server_meta (key, value) VALUES ('webhook_cursor', '0');
INSERT INTO server_meta (key, value) VALUES ('webhook_seq', '0');

-- Numbers handed out in commit order (see events).
CREATE TABLE counters (
    name TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('events', 0);

CREATE TABLE webhooks (
    id TEXT COLLATE "C" PRIMARY KEY,
    url TEXT COLLATE "C" NOT NULL,
    events TEXT COLLATE "C" NOT NULL,
    secret TEXT COLLATE "C" NOT NULL,
    previous_secret TEXT COLLATE "C",
    previous_until TEXT COLLATE "C",
    owner TEXT COLLATE "C" NOT NULL,
    scopes TEXT COLLATE "C" NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    disabled_reason TEXT COLLATE "C",
    failing_since TEXT COLLATE "C",
    from_seq BIGINT NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX webhooks_owner_seq ON webhooks (owner, seq);

CREATE TABLE webhook_deliveries (
    seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    webhook_id TEXT COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_seq BIGINT NOT NULL,
    event_id TEXT COLLATE "C" NOT NULL,
    event_type TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt TEXT COLLATE "C" NOT NULL,
    last_attempt TEXT COLLATE "C",
    last_status BIGINT,
    last_error TEXT COLLATE "C",
    created TEXT COLLATE "C" NOT NULL,
    UNIQUE (webhook_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt);
CREATE INDEX webhook_deliveries_of ON webhook_deliveries (webhook_id, seq);

-- How many times a table has changed, bumped by a trigger in the writer's transaction whoever
-- writes (any instance, the admin command): a cached page is served only while its counter holds.
CREATE TABLE change_counters (
    name TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO change_counters (name, value) VALUES ('patients', 0);

CREATE FUNCTION count_patients_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE change_counters SET value = value + 1 WHERE name = 'patients';
    RETURN NULL;
END;
$$;
CREATE TRIGGER patients_count AFTER INSERT OR UPDATE OR DELETE ON patients
    FOR EACH STATEMENT EXECUTE FUNCTION count_patients_change();

CREATE TABLE waitlist (
    seq BIGINT PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    patient_id TEXT COLLATE "C" NOT NULL REFERENCES patients (id),
    status TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    updated TEXT COLLATE "C" NOT NULL,
    body TEXT COLLATE "C" NOT NULL
);
CREATE INDEX waitlist_status ON waitlist (status, seq);
CREATE INDEX waitlist_patient ON waitlist (patient_id, seq);
CREATE INDEX waitlist_updated ON waitlist (updated, seq);

-- Rate-limit buckets shared by every instance: the theoretical arrival time (GCRA) of each
-- caller's bucket in microseconds since the epoch, moved by one atomic statement per request.
CREATE TABLE rate_buckets (
    bucket TEXT COLLATE "C" PRIMARY KEY,
    tat_us BIGINT NOT NULL
);

-- FHIR Patient search by `phone` compares digits only; the expression must stay the same as
-- PHONE_DIGITS in src/storage/postgres/fhir.rs for the index to serve it.
CREATE INDEX patients_phone_digits ON patients ((
    replace(replace(replace(replace(replace(replace(
        COALESCE(body::jsonb #>> '{contactInfo,phone}', ''), '-', ''), ' ', ''), '(', ''), ')', ''),
        '.', ''), '+', '')
));
