-- API keys (DESIGN §7): how automated clients authenticate. The secret
-- ("gak_" + 43 base62 characters) is shown once; only its SHA-256 (hex), a
-- display prefix and its last four characters are kept. tenant_id NULL is a
-- platform key, which only the admin role may be (the service checks it).
--
-- Rotation with a grace period keeps the secret it replaced valid until
-- previous_expires_at: previous_secret_hash is looked up as well as
-- secret_hash, and a later rotation overwrites it.
CREATE TABLE api_keys (
    id                   text        PRIMARY KEY,
    tenant_id            text        REFERENCES tenants (id),
    name                 text        NOT NULL,
    role                 text        NOT NULL,
    project_id           text,
    prefix               text        NOT NULL,
    last_four            text        NOT NULL,
    secret_hash          text        NOT NULL,
    previous_secret_hash text,
    previous_expires_at  timestamptz,
    rate_limit           text,
    expires_at           timestamptz,
    created_by           text        NOT NULL REFERENCES users (id),
    created_at           timestamptz NOT NULL DEFAULT now(),
    rotated_at           timestamptz,
    revoked_at           timestamptz,
    last_used_at         timestamptz
);

-- Verification finds a key by the hash of the secret presented.
CREATE UNIQUE INDEX api_keys_secret_hash_idx ON api_keys (secret_hash);
CREATE INDEX api_keys_previous_secret_hash_idx ON api_keys (previous_secret_hash);
-- GET /keys pages newest first with a (created_at, id) keyset cursor, per
-- tenant or across all of them.
CREATE INDEX api_keys_created_idx ON api_keys (created_at DESC, id DESC);
CREATE INDEX api_keys_tenant_created_idx ON api_keys (tenant_id, created_at DESC, id DESC);
