-- Tenants (DESIGN §7). Mirrors postgres/0005_tenants.sql: users.tenant_id
-- NULL is a platform principal (admin role only); the id format is checked
-- by the service, and existing users move to DEFAULT_TENANT at start.
CREATE TABLE tenants (
    id         TEXT     PRIMARY KEY,
    name       TEXT     NOT NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- GET /tenants pages newest first with a (created_at, id) keyset cursor.
CREATE INDEX tenants_created_idx ON tenants (created_at DESC, id DESC);

-- SQLite adds a column with REFERENCES when its default is NULL.
ALTER TABLE users ADD COLUMN tenant_id TEXT REFERENCES tenants (id);
CREATE INDEX users_tenant_idx ON users (tenant_id);
