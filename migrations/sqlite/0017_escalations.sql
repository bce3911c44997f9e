-- Escalations (DESIGN §7). Mirrors postgres/0017_escalations.sql: uuid and
-- jsonb columns are TEXT, timestamps DATETIME.
CREATE TABLE escalations (
    id              TEXT     PRIMARY KEY,
    tenant_id       TEXT     NOT NULL REFERENCES tenants (id),
    task_id         TEXT     NOT NULL REFERENCES tasks (id),
    reason          TEXT     NOT NULL,
    pattern_type    TEXT     NOT NULL CHECK (pattern_type IN ('skill_gap', 'agent_conflict', 'process_issue')),
    suggested_fix   TEXT     NOT NULL DEFAULT '',
    created_by      TEXT     NOT NULL,
    created_at      DATETIME NOT NULL,
    resolution      TEXT,
    resolution_data TEXT,
    resolved_by     TEXT,
    resolved_at     DATETIME,
    CHECK ((resolved_at IS NULL) = (resolved_by IS NULL))
);

CREATE INDEX escalations_tenant_created_idx ON escalations (tenant_id, created_at DESC, id DESC);
CREATE INDEX escalations_created_idx ON escalations (created_at DESC, id DESC);
CREATE INDEX escalations_open_task_idx ON escalations (task_id) WHERE resolved_at IS NULL;
CREATE INDEX escalations_open_pattern_idx ON escalations (tenant_id, pattern_type) WHERE resolved_at IS NULL;
