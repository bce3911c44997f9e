-- GET /audit?action=… and ?user_id=… page newest first. audit_log_action_idx
-- and audit_log_user_id_idx find the entries but not in (created_at, id)
-- order, so the planner either sorted every entry of the action or user or
-- walked audit_log_created_at_id_idx from the newest entry filtering for it:
-- on 1 900 000 entries an action that has few entries (or none) cost a scan
-- of the whole index. These start the scan at the filter and the cursor
-- (docs/PERFORMANCE.md, growth). The single-column indexes stay (expand-only
-- migrations; dropping them is a later contract step).
--
-- As in 0027, the file runs in a transaction, so the indexes are built with
-- writes to audit_log blocked meanwhile; build them beforehand with CREATE
-- INDEX CONCURRENTLY under these names to avoid that on a large table.
CREATE INDEX IF NOT EXISTS audit_log_action_created_idx ON audit_log (action, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS audit_log_user_created_idx ON audit_log (user_id, created_at DESC, id DESC);
