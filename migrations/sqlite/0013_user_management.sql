-- The users API. Mirrors postgres/0013_user_management.sql: tokens_revoked_at
-- ends every token issued to the account before it (NULL: never).
ALTER TABLE users ADD COLUMN tokens_revoked_at DATETIME;

-- GET /users pages newest first with a (created_at, id) keyset cursor.
CREATE INDEX users_created_idx ON users (created_at DESC, id DESC);
