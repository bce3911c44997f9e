-- Agent prompts. Mirrors postgres/0036_agent_prompts.sql: uuid and jsonb
-- are TEXT, booleans INTEGER, timestamps DATETIME.
CREATE TABLE agent_prompts (
    id                   TEXT     PRIMARY KEY,
    tenant_id            TEXT     NOT NULL REFERENCES tenants (id),
    agent_role           TEXT     NOT NULL CHECK (agent_role IN ('security', 'developer', 'reviewer', 'tester', 'architect')),
    version              INTEGER  NOT NULL CHECK (version > 0),
    prompt_text          TEXT     NOT NULL,
    auto_learned         INTEGER  NOT NULL,
    learned_from_pattern TEXT     NOT NULL DEFAULT '',
    llm_check            TEXT,
    approval_status      TEXT     NOT NULL CHECK (approval_status IN ('auto_approved', 'pending_review', 'human_approved', 'rejected')),
    created_by           TEXT     NOT NULL,
    created_at           DATETIME NOT NULL,
    approved_by          TEXT,
    approved_at          DATETIME,
    rejection_reason     TEXT,
    UNIQUE (tenant_id, agent_role, version)
);

CREATE INDEX agent_prompts_role_created_idx ON agent_prompts (tenant_id, agent_role, created_at);
CREATE INDEX agent_prompts_pending_idx ON agent_prompts (tenant_id, agent_role) WHERE approval_status = 'pending_review';
