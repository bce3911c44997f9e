-- Peer reviews. Mirrors postgres/0037_reviews.sql: uuid and jsonb are TEXT,
-- double precision REAL, timestamps DATETIME.
CREATE TABLE reviews (
    id              TEXT     PRIMARY KEY,
    tenant_id       TEXT     NOT NULL REFERENCES tenants (id),
    task_id         TEXT     NOT NULL REFERENCES tasks (id),
    quorum          REAL     NOT NULL CHECK (quorum > 0 AND quorum <= 1),
    invited         TEXT     NOT NULL,
    total_weight    REAL     NOT NULL CHECK (total_weight > 0),
    status          TEXT     NOT NULL CHECK (status IN ('open', 'completed', 'failed')),
    consensus_score REAL,
    escalation_id   TEXT     REFERENCES escalations (id),
    created_by      TEXT     NOT NULL,
    created_at      DATETIME NOT NULL,
    decided_at      DATETIME,
    CHECK ((status = 'open') = (decided_at IS NULL))
);

CREATE UNIQUE INDEX reviews_open_task_idx ON reviews (task_id) WHERE status = 'open';
CREATE INDEX reviews_tenant_created_idx ON reviews (tenant_id, created_at DESC, id DESC);
CREATE INDEX reviews_created_idx ON reviews (created_at DESC, id DESC);
CREATE INDEX reviews_task_idx ON reviews (task_id);
CREATE INDEX reviews_open_tenant_idx ON reviews (tenant_id) WHERE status = 'open';
