-- Learning governance. Mirrors postgres/0035_learning_governance.sql:
-- booleans are INTEGER, timestamps DATETIME.
CREATE TABLE learning_governance (
    tenant_id              TEXT     NOT NULL REFERENCES tenants (id),
    agent_role             TEXT     NOT NULL CHECK (agent_role IN ('security', 'developer', 'reviewer', 'tester', 'architect')),
    max_updates_per_day    INTEGER  NOT NULL CHECK (max_updates_per_day >= 0),
    cooldown_hours         INTEGER  NOT NULL CHECK (cooldown_hours >= 0),
    require_human_approval INTEGER  NOT NULL,
    last_update_at         DATETIME,
    updated_by             TEXT     NOT NULL,
    updated_at             DATETIME NOT NULL,
    PRIMARY KEY (tenant_id, agent_role)
);
