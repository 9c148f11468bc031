-- Webhook subscriptions and their durable delivery queue. The dispatcher turns events into
-- deliveries after its own cursor (kept in server_meta) in one transaction, so a restart neither
-- loses nor repeats a fan-out; a delivery is retried until it succeeds or its subscription is
-- disabled.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    -- JSON array of event types
    events TEXT NOT NULL,
    -- kept to sign deliveries (HMAC needs the secret itself); shown to the subscriber once
    secret TEXT NOT NULL,
    -- after a rotation, the old secret also signs until previous_until
    previous_secret TEXT,
    previous_until TEXT,
    -- who registered it and what they may read (a subscription only sees what its creator may)
    owner TEXT NOT NULL,
    scopes TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    disabled_reason TEXT,
    -- the first failure since the last success; three days of failures disable the subscription
    failing_since TEXT,
    -- the end of the event log when it was registered: it receives only later events
    from_seq INTEGER NOT NULL,
    created TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_seq INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    -- pending, delivered, abandoned
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT NOT NULL,
    last_attempt TEXT,
    last_status INTEGER,
    last_error TEXT,
    created TEXT NOT NULL,
    UNIQUE (webhook_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt);
CREATE INDEX webhook_deliveries_of ON webhook_deliveries (webhook_id, seq);

INSERT INTO server_meta (key, value) VALUES ('webhook_cursor', '0');
