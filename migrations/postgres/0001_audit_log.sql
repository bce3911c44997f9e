-- Audit trail: one row per security-relevant action, written in the same
-- transaction as the action itself (DESIGN §5).
CREATE TABLE audit_log (
    id            bigserial   PRIMARY KEY,
    user_id       text,
    role          text,
    action        text        NOT NULL,
    resource_type text,
    resource_id   text,
    details       jsonb       NOT NULL DEFAULT '{}',
    request_id    text,
    client_ip     text,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- GET /audit pages newest first with a (created_at, id) keyset cursor.
CREATE INDEX audit_log_created_at_id_idx ON audit_log (created_at DESC, id DESC);
CREATE INDEX audit_log_user_id_idx ON audit_log (user_id);
CREATE INDEX audit_log_action_idx ON audit_log (action);
CREATE INDEX audit_log_resource_idx ON audit_log (resource_type, resource_id);
