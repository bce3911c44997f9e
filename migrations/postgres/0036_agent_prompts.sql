-- Agent prompts (issue 23): the versions of a role's prompt in a tenant.
-- Every accepted learning proposal is a row: auto_approved (current at once)
-- or pending_review until a human approves (human_approved) or rejects it,
-- exactly once (a conditional UPDATE ... WHERE approval_status =
-- 'pending_review'). The current prompt of a role is its newest approved
-- version. llm_check keeps the validated raw LLM answer of the proposal and
-- the validator's warnings.
CREATE TABLE agent_prompts (
    id                   uuid        PRIMARY KEY,
    tenant_id            text        NOT NULL REFERENCES tenants (id),
    agent_role           text        NOT NULL CHECK (agent_role IN ('security', 'developer', 'reviewer', 'tester', 'architect')),
    version              integer     NOT NULL CHECK (version > 0),
    prompt_text          text        NOT NULL,
    auto_learned         boolean     NOT NULL,
    learned_from_pattern text        NOT NULL DEFAULT '',
    llm_check            jsonb,
    approval_status      text        NOT NULL CHECK (approval_status IN ('auto_approved', 'pending_review', 'human_approved', 'rejected')),
    created_by           text        NOT NULL,
    created_at           timestamptz NOT NULL,
    approved_by          text,
    approved_at          timestamptz,
    rejection_reason     text,
    UNIQUE (tenant_id, agent_role, version)
);

-- The daily cap counts a role's proposals since midnight UTC; the stats
-- count pending reviews.
CREATE INDEX agent_prompts_role_created_idx ON agent_prompts (tenant_id, agent_role, created_at);
CREATE INDEX agent_prompts_pending_idx ON agent_prompts (tenant_id, agent_role) WHERE approval_status = 'pending_review';
