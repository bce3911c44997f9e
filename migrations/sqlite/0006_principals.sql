-- Principals on audit entries and reservations. Mirrors
-- postgres/0006_principals.sql: idempotency keys are stored as
-- "<principal_id>|<key>" in the existing unique column.
ALTER TABLE audit_log ADD COLUMN principal_id TEXT;
ALTER TABLE audit_log ADD COLUMN tenant_id TEXT;
ALTER TABLE budget_reservations ADD COLUMN principal_id TEXT;
