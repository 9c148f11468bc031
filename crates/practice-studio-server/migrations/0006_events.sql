-- The event log: every change's event, written in the change's transaction. `seq` is commit order
-- (one writer) and the change feed's cursor; the epoch tells cursors of another database apart.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    -- the read scope a receiver needs to see the resource, e.g. read:records
    scope TEXT NOT NULL,
    created TEXT NOT NULL,
    -- the event exactly as delivered: {id, event, timestamp, data, requestId}
    body TEXT NOT NULL
);
CREATE INDEX events_created ON events (created);

CREATE TABLE server_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO server_meta (key, value) VALUES ('event_epoch', lower(hex(randomblob(8))));
