-- When a provider or location was last changed (PUT), so the v2 lists can take `updated_since`.
-- Rows never changed since they were added keep the empty string, before every instant.
ALTER TABLE providers ADD COLUMN updated TEXT NOT NULL DEFAULT '';
ALTER TABLE locations ADD COLUMN updated TEXT NOT NULL DEFAULT '';
