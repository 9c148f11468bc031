-- When an invoice last changed (a payment), for `updated_since` on the invoice lists. NULL until
-- its first change: the list reads COALESCE(updated, created).
ALTER TABLE invoices ADD COLUMN updated TEXT;
