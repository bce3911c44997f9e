-- Who acted, independent of the kind of credential: a principal id is
-- "user:<id>" (later "key:<id>" for API keys), and the tenant it acted in
-- ('' for a platform principal, NULL on rows written before this file).
ALTER TABLE audit_log ADD COLUMN principal_id text;
ALTER TABLE audit_log ADD COLUMN tenant_id text;

-- Idempotency keys are scoped per principal. The unique index
-- budget_reservations_idempotency_idx (tenant_id, project_id,
-- idempotency_key) stays: the service stores the key as
-- "<principal_id>|<key>", so the same key of two principals never collides
-- and no index has to be dropped (which would be a contract step).
-- principal_id names the principal that made the reservation (NULL on rows
-- written before this file, whose keys are stored unscoped).
ALTER TABLE budget_reservations ADD COLUMN principal_id text;
