-- The users API (issue 19). tokens_revoked_at ends every token issued to the
-- account before it: set when an admin disables the account or changes its
-- role or tenant (password changes keep using password_changed_at). NULL
-- means never, so this file only adds and the previous release ignores it.
ALTER TABLE users ADD COLUMN tokens_revoked_at timestamptz;

-- GET /users pages newest first with a (created_at, id) keyset cursor.
CREATE INDEX users_created_idx ON users (created_at DESC, id DESC);
