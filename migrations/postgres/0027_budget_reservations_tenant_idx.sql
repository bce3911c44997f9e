-- GET /budget/reservations of one tenant (what every tenant-bound caller
-- lists) pages newest first within the tenant. budget_reservations_scope_idx
-- starts with (tenant_id, project_id), so it cannot give one tenant's rows in
-- created_at order across its projects: on 1 000 000 reservations of 10 000
-- budgets a page of one tenant read and sorted all of its 100 000 rows
-- (400 ms); with this index it reads the page (docs/PERFORMANCE.md, growth).
--
-- Each file runs in one transaction, where CREATE INDEX CONCURRENTLY is not
-- allowed, so this builds the index with writes to the table blocked for as
-- long as the build takes (seconds for a million rows). To avoid that on a
-- large table, build it beforehand with
--   CREATE INDEX CONCURRENTLY budget_reservations_tenant_created_idx
--       ON budget_reservations (tenant_id, created_at DESC, id DESC);
-- and this file finds it and does nothing.
CREATE INDEX IF NOT EXISTS budget_reservations_tenant_created_idx
    ON budget_reservations (tenant_id, created_at DESC, id DESC);
