-- Front Desk's local cache. The whole file is encrypted by SQLCipher; nothing here is plaintext on disk.
-- Full objects are kept as the API's JSON (`body`); the other columns exist only to find them.

-- Patients. `pk` is internal: the search index refers to it instead of repeating the id.
CREATE TABLE patients (
    pk            INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    mrn           TEXT    NOT NULL,
    -- upper case, letters and digits only, so "mrn 00-123" finds "MRN00123"
    mrn_key       TEXT    NOT NULL,
    first_name    TEXT    NOT NULL,
    last_name     TEXT    NOT NULL,
    -- the name's search tokens (lower case, accents folded), space separated
    name_key      TEXT    NOT NULL,
    date_of_birth TEXT    NOT NULL,            -- YYYY-MM-DD
    phone         TEXT,
    -- the phone's digits reversed: "ends with these digits" becomes a range scan
    phone_rev     TEXT,
    email_key     TEXT,                        -- lower case
    postal_code   TEXT,
    status        TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    updated       TEXT    NOT NULL,
    last_visit    TEXT,                        -- RFC 3339, NULL when never seen
    -- last_visit as Unix seconds (0 when never): ties in search go to the most recent visit
    recency       INTEGER NOT NULL DEFAULT 0,
    -- 1 while a local change waits in the outbox
    pending       INTEGER NOT NULL DEFAULT 0
);
-- The full objects apart from the columns search reads: search rows stay small, many to a
-- page, so a result page costs few page decryptions.
CREATE TABLE patient_bodies (
    pk   INTEGER PRIMARY KEY REFERENCES patients (pk) ON DELETE CASCADE,
    body TEXT    NOT NULL
);
CREATE INDEX patients_mrn_key ON patients (mrn_key);
CREATE INDEX patients_dob ON patients (date_of_birth, recency);
CREATE INDEX patients_phone_rev ON patients (phone_rev) WHERE phone_rev IS NOT NULL;
CREATE INDEX patients_email_key ON patients (email_key) WHERE email_key IS NOT NULL;

-- Search index, kept in step with `patients` by the store in the same transaction.
-- Distinct name tokens and how many patients carry each.
CREATE TABLE name_tokens (
    token_id INTEGER PRIMARY KEY,
    token    TEXT    NOT NULL UNIQUE,
    patients INTEGER NOT NULL
);
-- SymSpell: every token under up to two deleted characters (the token itself included). A typed
-- word's own deletions meet its intended token's here, which trigrams cannot do for short names.
CREATE TABLE name_token_deletes (
    variant  TEXT    NOT NULL,
    token_id INTEGER NOT NULL,
    PRIMARY KEY (variant, token_id)
) WITHOUT ROWID;
-- Substrings of tokens ("ohns" in "johnson"), over distinct tokens only: small and quick.
CREATE VIRTUAL TABLE name_tokens_fts USING fts5 (
    token,
    content = 'name_tokens',
    content_rowid = 'token_id',
    tokenize = 'trigram'
);
CREATE TRIGGER name_tokens_fts_insert AFTER INSERT ON name_tokens BEGIN
    INSERT INTO name_tokens_fts (rowid, token) VALUES (new.token_id, new.token);
END;
CREATE TRIGGER name_tokens_fts_delete AFTER DELETE ON name_tokens BEGIN
    INSERT INTO name_tokens_fts (name_tokens_fts, rowid, token) VALUES ('delete', old.token_id, old.token);
END;
-- Which patients carry a token, most recent visit last in key order (read backwards). The
-- patient's name_key rides along so other query words are checked without touching `patients`,
-- and so does the result card (a JSON array of what a result shows): a page of results is then
-- a few adjacent rows here, not twenty scattered pages of `patients` to decrypt.
CREATE TABLE name_postings (
    token_id   INTEGER NOT NULL,
    recency    INTEGER NOT NULL,
    patient_pk INTEGER NOT NULL,
    name_key   TEXT    NOT NULL,
    card       TEXT    NOT NULL,
    PRIMARY KEY (token_id, recency, patient_pk)
) WITHOUT ROWID;
-- One- and two-character prefixes of every name token: the first keystrokes find the most
-- recently seen patients directly instead of walking hundreds of tokens.
CREATE TABLE name_prefixes (
    prefix     TEXT    NOT NULL,
    recency    INTEGER NOT NULL,
    patient_pk INTEGER NOT NULL,
    name_key   TEXT    NOT NULL,
    PRIMARY KEY (prefix, recency, patient_pk)
) WITHOUT ROWID;

-- Reference data the book needs offline.
CREATE TABLE locations (
    id      TEXT PRIMARY KEY NOT NULL,
    name    TEXT NOT NULL,
    updated TEXT NOT NULL,
    body    TEXT NOT NULL
);
CREATE TABLE providers (
    id          TEXT PRIMARY KEY NOT NULL,
    last_name   TEXT NOT NULL,
    first_name  TEXT NOT NULL,
    location_id TEXT,
    updated     TEXT NOT NULL,
    body        TEXT NOT NULL
);
-- Working hours, breaks and exceptions per provider and location.
CREATE TABLE schedules (
    id          TEXT PRIMARY KEY NOT NULL,
    provider_id TEXT NOT NULL,
    location_id TEXT,
    updated     TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX schedules_provider ON schedules (provider_id);
CREATE TABLE appointment_types (
    id      TEXT PRIMARY KEY NOT NULL,
    name    TEXT NOT NULL,
    updated TEXT NOT NULL,
    body    TEXT NOT NULL
);
CREATE TABLE appointments (
    id          TEXT PRIMARY KEY NOT NULL,
    patient_id  TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    location_id TEXT,
    starts_at   TEXT NOT NULL,
    ends_at     TEXT NOT NULL,
    status      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    pending     INTEGER NOT NULL DEFAULT 0,
    updated     TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX appointments_provider_start ON appointments (provider_id, starts_at);
CREATE INDEX appointments_location_start ON appointments (location_id, starts_at);
CREATE INDEX appointments_patient ON appointments (patient_id, starts_at);
CREATE TABLE records (
    id         TEXT PRIMARY KEY NOT NULL,
    patient_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    recorded   TEXT NOT NULL,
    updated    TEXT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX records_patient ON records (patient_id, recorded);
-- Attachment bytes live here, inside the encrypted file, never as loose files. `last_used` is
-- a counter bumped on every read, so the least recently used is evicted first when over the cap.
CREATE TABLE attachments (
    id           TEXT PRIMARY KEY NOT NULL,
    patient_id   TEXT,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    last_used    INTEGER NOT NULL,
    bytes        BLOB NOT NULL
);
CREATE INDEX attachments_last_used ON attachments (last_used);
CREATE TABLE invoices (
    id         TEXT PRIMARY KEY NOT NULL,
    patient_id TEXT NOT NULL,
    status     TEXT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0,
    pending    INTEGER NOT NULL DEFAULT 0,
    updated    TEXT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX invoices_patient ON invoices (patient_id);
CREATE TABLE payments (
    id         TEXT PRIMARY KEY NOT NULL,
    invoice_id TEXT NOT NULL,
    pending    INTEGER NOT NULL DEFAULT 0,
    updated    TEXT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX payments_invoice ON payments (invoice_id);

-- Change-feed cursors, first-sync checkpoints and the like, by name.
CREATE TABLE sync_state (
    key     TEXT PRIMARY KEY NOT NULL,
    value   TEXT NOT NULL,
    updated TEXT NOT NULL
);

-- Writes waiting for the server, in the order they were made.
CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT    NOT NULL UNIQUE,
    request_id      TEXT    NOT NULL,
    author          TEXT    NOT NULL,
    entity_kind     TEXT    NOT NULL,
    entity_id       TEXT    NOT NULL,
    operation       TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'conflict')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created         TEXT    NOT NULL,
    updated         TEXT    NOT NULL
);
CREATE INDEX outbox_pending ON outbox (state, seq);
CREATE INDEX outbox_entity ON outbox (entity_kind, entity_id, seq);

-- Changes the server refused; a person resolves each one. Never deleted by sync.
CREATE TABLE conflicts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_seq    INTEGER NOT NULL UNIQUE REFERENCES outbox (seq),
    kind          TEXT    NOT NULL,
    message       TEXT    NOT NULL,
    server_status INTEGER,
    server_body   TEXT,
    created       TEXT    NOT NULL
);
