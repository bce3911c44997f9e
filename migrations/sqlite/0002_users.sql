-- Accounts that can log in. Mirrors postgres/0002_users.sql: the username is
-- stored trimmed and lowercased, the password only as a bcrypt hash.
CREATE TABLE users (
    id                  TEXT     PRIMARY KEY,
    username            TEXT     NOT NULL,
    password_hash       TEXT     NOT NULL,
    role                TEXT     NOT NULL,
    disabled            BOOLEAN  NOT NULL DEFAULT 0,
    created_at          DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at          DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    password_changed_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_username_normalized CHECK (username = lower(trim(username)) AND length(username) BETWEEN 1 AND 64),
    CONSTRAINT users_role_valid CHECK (role IN ('admin', 'operator', 'developer', 'observer'))
);
