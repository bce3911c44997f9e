-- API keys (DESIGN §7). Mirrors postgres/0010_api_keys.sql: the secret is
-- kept as its SHA-256 (hex), a display prefix and its last four characters;
-- tenant_id NULL is a platform key (admin role only); previous_secret_hash
-- stays valid until previous_expires_at after a rotation with grace.
CREATE TABLE api_keys (
    id                   TEXT     PRIMARY KEY,
    tenant_id            TEXT     REFERENCES tenants (id),
    name                 TEXT     NOT NULL,
    role                 TEXT     NOT NULL,
    project_id           TEXT,
    prefix               TEXT     NOT NULL,
    last_four            TEXT     NOT NULL,
    secret_hash          TEXT     NOT NULL,
    previous_secret_hash TEXT,
    previous_expires_at  DATETIME,
    rate_limit           TEXT,
    expires_at           DATETIME,
    created_by           TEXT     NOT NULL REFERENCES users (id),
    created_at           DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    rotated_at           DATETIME,
    revoked_at           DATETIME,
    last_used_at         DATETIME
);

CREATE UNIQUE INDEX api_keys_secret_hash_idx ON api_keys (secret_hash);
CREATE INDEX api_keys_previous_secret_hash_idx ON api_keys (previous_secret_hash);
CREATE INDEX api_keys_created_idx ON api_keys (created_at DESC, id DESC);
CREATE INDEX api_keys_tenant_created_idx ON api_keys (tenant_id, created_at DESC, id DESC);
