-- One row per call through the LLM gateway (DESIGN §7): who called which
-- model in which tenant/project, the reservation that paid for it, the usage
-- the provider reported and its cost from the price table. GET /usage sums
-- these rows. A call sent with an Idempotency-Key keeps the key (scoped to the
-- principal, tenant and project by the unique index) and, once it succeeded,
-- the answer, so a retry is answered from here and billed once. A failed call
-- gives its key up (idempotency_key NULL), so a retry is a new call.
CREATE TABLE llm_calls (
    id                uuid             PRIMARY KEY,
    tenant_id         text             NOT NULL,
    project_id        text             NOT NULL,
    principal_id      text             NOT NULL,
    idempotency_key   text,
    request_hash      text             NOT NULL,
    model             text             NOT NULL,
    provider          text             NOT NULL,
    stream            boolean          NOT NULL DEFAULT false,
    status            text             NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    reservation_id    uuid,
    estimated_tokens  bigint           NOT NULL DEFAULT 0,
    prompt_tokens     bigint           NOT NULL DEFAULT 0,
    completion_tokens bigint           NOT NULL DEFAULT 0,
    cost_usd          double precision NOT NULL DEFAULT 0,
    error             text             NOT NULL DEFAULT '',
    response          text,
    request_id        text             NOT NULL DEFAULT '',
    created_at        timestamptz      NOT NULL,
    finished_at       timestamptz
);

CREATE UNIQUE INDEX llm_calls_idempotency_idx
    ON llm_calls (tenant_id, project_id, principal_id, idempotency_key);
-- GET /usage: one tenant's calls in a time range.
CREATE INDEX llm_calls_usage_idx ON llm_calls (tenant_id, created_at);
