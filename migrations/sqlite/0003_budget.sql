-- Token budgets (DESIGN §5). Mirrors postgres/0003_budget.sql: uuid columns
-- are TEXT, timestamps DATETIME (stored as UTC text by the driver).
CREATE TABLE budget_limits (
    tenant_id   TEXT     NOT NULL,
    project_id  TEXT     NOT NULL,
    total_limit INTEGER  NOT NULL CHECK (total_limit >= 0),
    used        INTEGER  NOT NULL DEFAULT 0 CHECK (used >= 0),
    reserved    INTEGER  NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    updated_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, project_id)
);

CREATE TABLE budget_reservations (
    id              TEXT     PRIMARY KEY,
    tenant_id       TEXT     NOT NULL,
    project_id      TEXT     NOT NULL,
    task_id         TEXT     NOT NULL,
    model           TEXT     NOT NULL,
    purpose         TEXT     NOT NULL DEFAULT '',
    tokens          INTEGER  NOT NULL CHECK (tokens > 0),
    actual_tokens   INTEGER  CHECK (actual_tokens >= 0),
    status          TEXT     NOT NULL CHECK (status IN ('pending', 'committed', 'released', 'expired')),
    idempotency_key TEXT,
    request_hash    TEXT     NOT NULL,
    created_by      TEXT     NOT NULL,
    created_at      DATETIME NOT NULL,
    expires_at      DATETIME NOT NULL,
    settled_at      DATETIME,
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
    id             INTEGER  PRIMARY KEY AUTOINCREMENT,
    reservation_id TEXT     REFERENCES budget_reservations (id),
    tenant_id      TEXT     NOT NULL,
    project_id     TEXT     NOT NULL,
    kind           TEXT     NOT NULL CHECK (kind IN ('reserve', 'commit', 'release', 'expire', 'limit_set')),
    delta_reserved INTEGER  NOT NULL,
    delta_used     INTEGER  NOT NULL,
    actor          TEXT     NOT NULL,
    request_id     TEXT     NOT NULL DEFAULT '',
    at             DATETIME NOT NULL
);

CREATE INDEX budget_transactions_scope_idx ON budget_transactions (tenant_id, project_id, at);
CREATE INDEX budget_transactions_reservation_idx ON budget_transactions (reservation_id);
