-- What the sync engine needs beyond the cache itself.

-- The version an update is based on (sent as If-Match). NULL when an earlier entry of the same
-- entity was still pending at enqueue time: the update then takes the version the server
-- answered to that entry, so a desk never conflicts with itself.
ALTER TABLE outbox ADD COLUMN base_version INTEGER;
-- Entities (`kind:id`) this entry waits for besides its own, as a JSON array: an appointment for
-- a patient registered offline waits for that patient's registration.
ALTER TABLE outbox ADD COLUMN refs TEXT NOT NULL DEFAULT '[]';
-- From the server's answer to a sent entry: the entity's id (the server's, for a create) and
-- version (what the next entry of the entity sends as If-Match).
ALTER TABLE outbox ADD COLUMN answer_id TEXT;
ALTER TABLE outbox ADD COLUMN answer_version INTEGER;

-- Local ids (of entities created on this desk while offline) and the server's ids they became.
-- Kept after the mapping, so a screen still holding a local id finds the entity.
CREATE TABLE id_map (
    entity_kind TEXT NOT NULL,
    local_id    TEXT NOT NULL,
    server_id   TEXT NOT NULL,
    created     TEXT NOT NULL,
    PRIMARY KEY (entity_kind, local_id)
);

-- Reference lists keep the server's order (the catalogue's order is the clinic's choice).
ALTER TABLE locations ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE providers ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE appointment_types ADD COLUMN position INTEGER NOT NULL DEFAULT 0;

-- The server's newest copy of a patient whose local change still waits in the outbox: sync does
-- not overwrite the pending row, and the change's accepted answer may be older than this copy
-- (read by a poll between the server accepting the change and the desk recording its answer),
-- so it is kept here and the newer of the two wins when the change is recorded.
CREATE TABLE held_patients (
    id      TEXT PRIMARY KEY NOT NULL,
    version INTEGER NOT NULL,
    body    TEXT NOT NULL
);

-- How a person resolved a conflict (discarded, took_theirs, retried), who, and when. A resolved
-- conflict stays as a record; it no longer holds back its entity's later changes.
ALTER TABLE conflicts ADD COLUMN resolution TEXT;
ALTER TABLE conflicts ADD COLUMN resolved_by TEXT;
ALTER TABLE conflicts ADD COLUMN resolved TEXT;
-- A retried change is sent again from its own outbox row (keeping its place before the entity's
-- later changes); what was refused, and whose it was, stays here.
ALTER TABLE conflicts ADD COLUMN refused_payload TEXT;
ALTER TABLE conflicts ADD COLUMN refused_author TEXT;
