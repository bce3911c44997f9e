-- Agents (DESIGN §7 "Work resources"): the workers tasks are assigned to.
-- An agent's id is a slug chosen by its tenant, unique inside the tenant.
-- Only an active agent takes new tasks; a retired one keeps its history.
CREATE TABLE agents (
    tenant_id  text        NOT NULL REFERENCES tenants (id),
    id         text        NOT NULL,
    role       text        NOT NULL CHECK (role IN ('security', 'developer', 'reviewer', 'tester', 'architect')),
    status     text        NOT NULL CHECK (status IN ('active', 'paused', 'retired')),
    metadata   jsonb       NOT NULL DEFAULT '{}',
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- GET /agents pages newest first with a (created_at, id) keyset cursor, for
-- one tenant or (a platform principal) all of them.
CREATE INDEX agents_tenant_created_idx ON agents (tenant_id, created_at DESC, id DESC);
CREATE INDEX agents_created_idx ON agents (created_at DESC, id DESC);
