-- Agents (DESIGN §7). Mirrors postgres/0015_agents.sql: jsonb is TEXT,
-- timestamps DATETIME (stored as UTC text by the driver).
CREATE TABLE agents (
    tenant_id  TEXT     NOT NULL REFERENCES tenants (id),
    id         TEXT     NOT NULL,
    role       TEXT     NOT NULL CHECK (role IN ('security', 'developer', 'reviewer', 'tester', 'architect')),
    status     TEXT     NOT NULL CHECK (status IN ('active', 'paused', 'retired')),
    metadata   TEXT     NOT NULL DEFAULT '{}',
    created_by TEXT     NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX agents_tenant_created_idx ON agents (tenant_id, created_at DESC, id DESC);
CREATE INDEX agents_created_idx ON agents (created_at DESC, id DESC);
