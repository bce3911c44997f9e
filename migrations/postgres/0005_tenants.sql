-- Tenants (DESIGN §7): a team or customer. Users (and later API keys, tasks,
-- agents, ...) belong to one; a user without a tenant (NULL) is a platform
-- principal, which only the admin role may be.
--
-- The id has no CHECK of its format: the service requires a slug for new
-- tenants (services/tenants), while the ids budgets used before tenants
-- existed are imported as they are at start, so their data stays reachable.
-- Moving the existing users to DEFAULT_TENANT depends on configuration, so
-- the service does it at start (tenants.Service.Backfill), not this file.
CREATE TABLE tenants (
    id         text        PRIMARY KEY,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- GET /tenants pages newest first with a (created_at, id) keyset cursor.
CREATE INDEX tenants_created_idx ON tenants (created_at DESC, id DESC);

ALTER TABLE users ADD COLUMN tenant_id text REFERENCES tenants (id);
CREATE INDEX users_tenant_idx ON users (tenant_id);
