-- The order webhook subscriptions were registered in, for the v2 list's cursor. A number is never
-- given twice (the counter in server_meta only grows, unlike rowid, which a deletion of the newest
-- row would let the next insert reuse), so a kept cursor misses no later subscription.
ALTER TABLE webhooks ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE webhooks SET seq = rowid;
INSERT INTO server_meta (key, value)
    VALUES ('webhook_seq', (SELECT CAST(COALESCE(MAX(seq), 0) AS TEXT) FROM webhooks));
CREATE INDEX webhooks_owner_seq ON webhooks (owner, seq);
