-- Tasks and their history (DESIGN §7). Mirrors postgres/0016_tasks.sql: uuid
-- and jsonb columns are TEXT, timestamps DATETIME.
CREATE TABLE tasks (
    id          TEXT     PRIMARY KEY,
    tenant_id   TEXT     NOT NULL REFERENCES tenants (id),
    title       TEXT     NOT NULL,
    description TEXT     NOT NULL DEFAULT '',
    agent_id    TEXT,
    state       TEXT     NOT NULL CHECK (state IN ('pending', 'running', 'review', 'completed', 'escalated', 'failed', 'cancelled')),
    metadata    TEXT     NOT NULL DEFAULT '{}',
    version     INTEGER  NOT NULL CHECK (version >= 1),
    created_by  TEXT     NOT NULL,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL,
    deleted_at  DATETIME,
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id)
);

CREATE INDEX tasks_tenant_created_idx ON tasks (tenant_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX tasks_created_idx ON tasks (created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX tasks_tenant_state_idx ON tasks (tenant_id, state) WHERE deleted_at IS NULL;
CREATE INDEX tasks_agent_idx ON tasks (tenant_id, agent_id) WHERE deleted_at IS NULL;

CREATE TABLE task_events (
    id          INTEGER  PRIMARY KEY AUTOINCREMENT,
    task_id     TEXT     NOT NULL REFERENCES tasks (id),
    tenant_id   TEXT     NOT NULL,
    kind        TEXT     NOT NULL CHECK (kind IN ('created', 'updated', 'state', 'deleted')),
    from_state  TEXT,
    to_state    TEXT,
    changes     TEXT     NOT NULL DEFAULT '{}',
    version     INTEGER  NOT NULL,
    actor       TEXT     NOT NULL,
    request_id  TEXT     NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL
);

CREATE INDEX task_events_task_idx ON task_events (task_id, id);
