-- GET /budget/reservations of one tenant pages newest first within the
-- tenant; budget_reservations_scope_idx starts with (tenant_id, project_id)
-- and cannot give that order across projects (see the PostgreSQL file).
CREATE INDEX IF NOT EXISTS budget_reservations_tenant_created_idx
    ON budget_reservations (tenant_id, created_at DESC, id DESC);
