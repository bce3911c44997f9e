-- Peer reviews (issue 23, DESIGN §7): a session in which invited agents of
-- the task's tenant vote on a task, each with a weight. invited lists them
-- ([{"agent_id", "weight"}]); total_weight is their sum. The session is
-- decided by the vote that makes the outcome certain, in that vote's
-- transaction: completed when the approvals' weight reaches quorum ×
-- total_weight, failed when even every remaining vote could not; a failed
-- session opens an agent_conflict escalation of the task (escalation_id) in
-- the same transaction. consensus_score is the approvals' share of the total
-- weight when decided. A vote locks the session's row, so the decision is
-- taken once on any number of replicas.
CREATE TABLE reviews (
    id              uuid             PRIMARY KEY,
    tenant_id       text             NOT NULL REFERENCES tenants (id),
    task_id         uuid             NOT NULL REFERENCES tasks (id),
    quorum          double precision NOT NULL CHECK (quorum > 0 AND quorum <= 1),
    invited         jsonb            NOT NULL,
    total_weight    double precision NOT NULL CHECK (total_weight > 0),
    status          text             NOT NULL CHECK (status IN ('open', 'completed', 'failed')),
    consensus_score double precision,
    escalation_id   uuid             REFERENCES escalations (id),
    created_by      text             NOT NULL,
    created_at      timestamptz      NOT NULL,
    decided_at      timestamptz,
    CHECK ((status = 'open') = (decided_at IS NULL))
);

-- One open session per task: a second is refused (409) until it is decided.
CREATE UNIQUE INDEX reviews_open_task_idx ON reviews (task_id) WHERE status = 'open';
-- GET /reviews pages newest first with a (created_at, id) keyset cursor, per
-- tenant or across tenants, and filters by task; /stats counts the open ones.
CREATE INDEX reviews_tenant_created_idx ON reviews (tenant_id, created_at DESC, id DESC);
CREATE INDEX reviews_created_idx ON reviews (created_at DESC, id DESC);
CREATE INDEX reviews_task_idx ON reviews (task_id);
CREATE INDEX reviews_open_tenant_idx ON reviews (tenant_id) WHERE status = 'open';
