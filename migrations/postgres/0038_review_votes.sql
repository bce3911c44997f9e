-- Review votes (issue 23): one per invited agent and session. The primary
-- key (review_id, agent_id) is the unique index that refuses a second vote of
-- an agent, concurrent duplicates on any replica included. weight is the
-- agent's weight in the session. A vote sent as the agent's raw LLM answer
-- keeps the validated consensus data and the validator's warnings in
-- llm_check.
CREATE TABLE review_votes (
    review_id  uuid             NOT NULL REFERENCES reviews (id),
    agent_id   text             NOT NULL,
    tenant_id  text             NOT NULL,
    weight     double precision NOT NULL CHECK (weight > 0),
    vote       text             NOT NULL CHECK (vote IN ('approve', 'reject', 'conditional')),
    reasoning  text             NOT NULL DEFAULT '',
    confidence double precision CHECK (confidence >= 0 AND confidence <= 1),
    llm_check  jsonb,
    created_by text             NOT NULL,
    created_at timestamptz      NOT NULL,
    PRIMARY KEY (review_id, agent_id),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id)
);
