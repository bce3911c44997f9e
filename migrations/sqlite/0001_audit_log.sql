-- Audit trail: one row per security-relevant action, written in the same
-- transaction as the action itself (DESIGN §5). Mirrors
-- postgres/0001_audit_log.sql; details holds a JSON object as text.
CREATE TABLE audit_log (
    id            INTEGER  PRIMARY KEY AUTOINCREMENT,
    user_id       TEXT,
    role          TEXT,
    action        TEXT     NOT NULL,
    resource_type TEXT,
    resource_id   TEXT,
    details       TEXT     NOT NULL DEFAULT '{}',
    request_id    TEXT,
    client_ip     TEXT,
    created_at    DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- GET /audit pages newest first with a (created_at, id) keyset cursor.
CREATE INDEX audit_log_created_at_id_idx ON audit_log (created_at DESC, id DESC);
CREATE INDEX audit_log_user_id_idx ON audit_log (user_id);
CREATE INDEX audit_log_action_idx ON audit_log (action);
CREATE INDEX audit_log_resource_idx ON audit_log (resource_type, resource_id);
