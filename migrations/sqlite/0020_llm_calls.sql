-- LLM gateway calls. Mirrors postgres/0020_llm_calls.sql.
CREATE TABLE llm_calls (
    id                TEXT    PRIMARY KEY,
    tenant_id         TEXT    NOT NULL,
    project_id        TEXT    NOT NULL,
    principal_id      TEXT    NOT NULL,
    idempotency_key   TEXT,
    request_hash      TEXT    NOT NULL,
    model             TEXT    NOT NULL,
    provider          TEXT    NOT NULL,
    stream            BOOLEAN NOT NULL DEFAULT 0,
    status            TEXT    NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    reservation_id    TEXT,
    estimated_tokens  INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd          REAL    NOT NULL DEFAULT 0,
    error             TEXT    NOT NULL DEFAULT '',
    response          TEXT,
    request_id        TEXT    NOT NULL DEFAULT '',
    created_at        DATETIME NOT NULL,
    finished_at       DATETIME
);

CREATE UNIQUE INDEX llm_calls_idempotency_idx
    ON llm_calls (tenant_id, project_id, principal_id, idempotency_key);
CREATE INDEX llm_calls_usage_idx ON llm_calls (tenant_id, created_at);
