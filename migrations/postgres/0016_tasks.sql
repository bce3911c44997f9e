-- Tasks (DESIGN §7 "Work resources") and their history. A task moves through
-- pending → running → review → completed (escalated while an escalation is
-- open; failed or cancelled from any state that is not final). version grows
-- by one with every change: a change names the version it read and is
-- refused when another change came first (optimistic concurrency), so two
-- replicas never lose an update. deleted_at marks a soft delete.
CREATE TABLE tasks (
    id          uuid        PRIMARY KEY,
    tenant_id   text        NOT NULL REFERENCES tenants (id),
    title       text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    agent_id    text,
    state       text        NOT NULL CHECK (state IN ('pending', 'running', 'review', 'completed', 'escalated', 'failed', 'cancelled')),
    metadata    jsonb       NOT NULL DEFAULT '{}',
    version     bigint      NOT NULL CHECK (version >= 1),
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    deleted_at  timestamptz,
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id)
);

-- GET /tasks pages newest first with a (created_at, id) keyset cursor, for one
-- tenant or all; the state and agent filters and the per-state counts of
-- /stats use the others. Deleted tasks are never listed.
CREATE INDEX tasks_tenant_created_idx ON tasks (tenant_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX tasks_created_idx ON tasks (created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX tasks_tenant_state_idx ON tasks (tenant_id, state) WHERE deleted_at IS NULL;
CREATE INDEX tasks_agent_idx ON tasks (tenant_id, agent_id) WHERE deleted_at IS NULL;

-- One row per change of a task, written in the change's transaction:
-- created, updated (fields), state (a transition), deleted.
CREATE TABLE task_events (
    id          bigserial   PRIMARY KEY,
    task_id     uuid        NOT NULL REFERENCES tasks (id),
    tenant_id   text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('created', 'updated', 'state', 'deleted')),
    from_state  text,
    to_state    text,
    changes     jsonb       NOT NULL DEFAULT '{}',
    version     bigint      NOT NULL,
    actor       text        NOT NULL,
    request_id  text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL
);

CREATE INDEX task_events_task_idx ON task_events (task_id, id);
