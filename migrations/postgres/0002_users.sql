-- Accounts that can log in. The username is stored trimmed and lowercased
-- (the service normalizes; the check keeps every writer honest), the password
-- only as a bcrypt hash. password_changed_at lets token verification reject
-- tokens issued before the latest password change.
CREATE TABLE users (
    id                  text        PRIMARY KEY,
    username            text        NOT NULL,
    password_hash       text        NOT NULL,
    role                text        NOT NULL,
    disabled            boolean     NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_username_normalized CHECK (username = lower(btrim(username)) AND length(username) BETWEEN 1 AND 64),
    CONSTRAINT users_role_valid CHECK (role IN ('admin', 'operator', 'developer', 'observer'))
);
