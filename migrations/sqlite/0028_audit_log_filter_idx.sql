-- GET /audit?action=… and ?user_id=… page newest first from the filter and
-- the cursor instead of sorting every entry of the action or user (see the
-- PostgreSQL file).
CREATE INDEX IF NOT EXISTS audit_log_action_created_idx ON audit_log (action, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS audit_log_user_created_idx ON audit_log (user_id, created_at DESC, id DESC);
