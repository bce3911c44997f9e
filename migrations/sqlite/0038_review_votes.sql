-- Review votes. Mirrors postgres/0038_review_votes.sql: uuid and jsonb are
-- TEXT, double precision REAL, timestamps DATETIME.
CREATE TABLE review_votes (
    review_id  TEXT     NOT NULL REFERENCES reviews (id),
    agent_id   TEXT     NOT NULL,
    tenant_id  TEXT     NOT NULL,
    weight     REAL     NOT NULL CHECK (weight > 0),
    vote       TEXT     NOT NULL CHECK (vote IN ('approve', 'reject', 'conditional')),
    reasoning  TEXT     NOT NULL DEFAULT '',
    confidence REAL     CHECK (confidence >= 0 AND confidence <= 1),
    llm_check  TEXT,
    created_by TEXT     NOT NULL,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (review_id, agent_id),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id)
);
