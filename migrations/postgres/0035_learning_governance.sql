-- Learning governance (issue 23, DESIGN §7): per tenant and agent role, how
-- often the role's prompt may change by learning. A role without a row has
-- the defaults of services/work (DefaultGovernance); its row is written with
-- them on the first proposal or PUT. A proposal locks this row, so the cap
-- and cooldown decisions of one role serialize on every replica.
-- last_update_at is the time of the last accepted proposal.
CREATE TABLE learning_governance (
    tenant_id              text        NOT NULL REFERENCES tenants (id),
    agent_role             text        NOT NULL CHECK (agent_role IN ('security', 'developer', 'reviewer', 'tester', 'architect')),
    max_updates_per_day    integer     NOT NULL CHECK (max_updates_per_day >= 0),
    cooldown_hours         integer     NOT NULL CHECK (cooldown_hours >= 0),
    require_human_approval boolean     NOT NULL,
    last_update_at         timestamptz,
    updated_by             text        NOT NULL,
    updated_at             timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, agent_role)
);
