-- Token budgets (DESIGN §5). budget_limits holds the counters one conditional
-- UPDATE moves, so concurrent reservations can never pass total_limit;
-- budget_reservations holds each reservation and its idempotency key;
-- budget_transactions is the ledger: one row per movement, from which used
-- and reserved can be recomputed and checked.
CREATE TABLE budget_limits (
    tenant_id   text        NOT NULL,
    project_id  text        NOT NULL,
    total_limit bigint      NOT NULL CHECK (total_limit >= 0),
    used        bigint      NOT NULL DEFAULT 0 CHECK (used >= 0),
    reserved    bigint      NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, project_id)
);

CREATE TABLE budget_reservations (
    id              uuid        PRIMARY KEY,
    tenant_id       text        NOT NULL,
    project_id      text        NOT NULL,
    task_id         text        NOT NULL,
    model           text        NOT NULL,
    purpose         text        NOT NULL DEFAULT '',
    tokens          bigint      NOT NULL CHECK (tokens > 0),
    actual_tokens   bigint      CHECK (actual_tokens >= 0),
    status          text        NOT NULL CHECK (status IN ('pending', 'committed', 'released', 'expired')),
    idempotency_key text,
    request_hash    text        NOT NULL,
    created_by      text        NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    settled_at      timestamptz,
    FOREIGN KEY (tenant_id, project_id) REFERENCES budget_limits (tenant_id, project_id),
    CHECK ((status = 'committed') = (actual_tokens IS NOT NULL)),
    CHECK ((status = 'pending') = (settled_at IS NULL))
);

-- A retried request finds the first answer here; the loser of a concurrent
-- retry gets a unique violation. Rows without a key (NULL) never collide.
CREATE UNIQUE INDEX budget_reservations_idempotency_idx
    ON budget_reservations (tenant_id, project_id, idempotency_key);
-- The sweeper looks for pending reservations past expires_at.
CREATE INDEX budget_reservations_sweep_idx ON budget_reservations (status, expires_at);
-- GET /budget/state counts a budget's pending reservations.
CREATE INDEX budget_reservations_pending_idx
    ON budget_reservations (tenant_id, project_id) WHERE status = 'pending';
-- GET /budget/reservations pages newest first, optionally per tenant/project.
CREATE INDEX budget_reservations_created_idx ON budget_reservations (created_at DESC, id DESC);
CREATE INDEX budget_reservations_scope_idx
    ON budget_reservations (tenant_id, project_id, created_at DESC, id DESC);

CREATE TABLE budget_transactions (
    id             bigserial   PRIMARY KEY,
    reservation_id uuid        REFERENCES budget_reservations (id),
    tenant_id      text        NOT NULL,
    project_id     text        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('reserve', 'commit', 'release', 'expire', 'limit_set')),
    delta_reserved bigint      NOT NULL,
    delta_used     bigint      NOT NULL,
    actor          text        NOT NULL,
    request_id     text        NOT NULL DEFAULT '',
    at             timestamptz NOT NULL
);

CREATE INDEX budget_transactions_scope_idx ON budget_transactions (tenant_id, project_id, at);
CREATE INDEX budget_transactions_reservation_idx ON budget_transactions (reservation_id);
