-- Escalations (DESIGN §7 "Work resources"): a task that needs a human. While
-- one of its escalations is open (resolved_at IS NULL) the task is
-- escalated; resolving the last one returns it to running, in the same
-- transaction. A resolve is one conditional UPDATE ... WHERE resolved_at IS
-- NULL, so of concurrent resolves on any number of replicas exactly one wins.
CREATE TABLE escalations (
    id              uuid        PRIMARY KEY,
    tenant_id       text        NOT NULL REFERENCES tenants (id),
    task_id         uuid        NOT NULL REFERENCES tasks (id),
    reason          text        NOT NULL,
    pattern_type    text        NOT NULL CHECK (pattern_type IN ('skill_gap', 'agent_conflict', 'process_issue')),
    suggested_fix   text        NOT NULL DEFAULT '',
    created_by      text        NOT NULL,
    created_at      timestamptz NOT NULL,
    resolution      text,
    resolution_data jsonb,
    resolved_by     text,
    resolved_at     timestamptz,
    CHECK ((resolved_at IS NULL) = (resolved_by IS NULL))
);

-- GET /escalations pages newest first with a (created_at, id) keyset cursor;
-- the open ones of a task are what a resolve counts, and the
-- escalations_open gauge and /stats count the open ones by pattern.
CREATE INDEX escalations_tenant_created_idx ON escalations (tenant_id, created_at DESC, id DESC);
CREATE INDEX escalations_created_idx ON escalations (created_at DESC, id DESC);
CREATE INDEX escalations_open_task_idx ON escalations (task_id) WHERE resolved_at IS NULL;
CREATE INDEX escalations_open_pattern_idx ON escalations (tenant_id, pattern_type) WHERE resolved_at IS NULL;
