-- The book by time: the slot finder reads two months of every provider's busy times at once, and
-- a week of the book reads the appointments overlapping it. Without an index on the start each
-- read scanned every cached appointment with its body (a few milliseconds of decrypted pages);
-- this one covers the busy times whole (start, end, provider, status), so the slot finder reads
-- the index alone, and the book's reads fetch only the rows that overlap.
CREATE INDEX appointments_busy ON appointments (starts_at, ends_at, provider_id, status);
