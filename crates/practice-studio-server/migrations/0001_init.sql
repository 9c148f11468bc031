-- Practice Studio server schema (SQLite). Instants are RFC 3339 UTC text with microseconds, so
-- text order is time order.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    active INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT,
    tier TEXT NOT NULL,
    rate_per_minute INTEGER NOT NULL,
    scopes TEXT NOT NULL,
    grants TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    tier TEXT NOT NULL,
    rate_per_minute INTEGER NOT NULL,
    scopes TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL
);

CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,            -- access | refresh
    client_id TEXT NOT NULL,
    user_id TEXT,
    scopes TEXT NOT NULL,
    family TEXT NOT NULL,          -- every token issued from one sign-in shares it
    expires_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_family ON tokens (family);

CREATE TABLE auth_codes (
    hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL,
    code_challenge TEXT,
    expires_at TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE patients (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    mrn TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    -- lower-cased "first last id mrn", what `search` matches
    search_text TEXT NOT NULL,
    -- the full patient as the API returns it, and the list summary: lists are served from these
    -- without parsing a row
    body TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE INDEX patients_name ON patients (last_name COLLATE NOCASE, first_name COLLATE NOCASE, id);
CREATE INDEX patients_dob ON patients (date_of_birth, id);
CREATE INDEX patients_updated ON patients (updated, id);
CREATE INDEX patients_status ON patients (status, seq);

CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,           -- client and user (or API key) that sent it
    key TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    state TEXT NOT NULL,           -- running | done
    lease_until TEXT NOT NULL,
    status INTEGER,
    location TEXT,
    etag TEXT,
    response TEXT,
    created TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_created ON idempotency_keys (created);
