-- growth-explain.sql — EXPLAIN (ANALYZE, BUFFERS) of every query on the
-- budget and audit paths, on a database filled by growth-prefill.sql: the
-- statements services/budget and services/audit send (as gorm renders them,
-- parameters inlined), for the reserve, commit, release, state, list, sweep
-- and audit-list paths. Statements that write run inside a transaction that
-- is rolled back, so the database is left as it was. scripts/bench.sh runs it
-- in the growth section; by hand:
--
--   psql -X -h 127.0.0.1 -U postgres -d DB -f scripts/growth-explain.sql
\set ON_ERROR_STOP 1
\pset pager off

-- A budget in the middle, one of its pending reservations, and the
-- positions of the first and of the last page of each list.
SELECT tenant_id AS tenant, project_id AS project FROM budget_limits WHERE tenant_id LIKE 'grow%'
ORDER BY tenant_id DESC, project_id LIMIT 1 OFFSET 417 \gset
SELECT id AS pending_id FROM budget_reservations
WHERE tenant_id = :'tenant' AND project_id = :'project' AND status = 'pending' ORDER BY created_at LIMIT 1 \gset
SELECT created_at AS last_t, id AS last_id FROM budget_reservations ORDER BY created_at, id OFFSET 50 LIMIT 1 \gset
SELECT created_at AS tlast_t, id AS tlast_id FROM budget_reservations WHERE tenant_id = :'tenant'
ORDER BY created_at, id OFFSET 50 LIMIT 1 \gset
SELECT created_at AS plast_t, id AS plast_id FROM budget_reservations WHERE tenant_id = :'tenant' AND project_id = :'project'
ORDER BY created_at, id OFFSET 50 LIMIT 1 \gset
SELECT created_at AS alast_t, id AS alast_id FROM audit_log ORDER BY created_at, id OFFSET 50 LIMIT 1 \gset
SELECT created_at AS mid_t, id AS mid_id FROM budget_reservations ORDER BY created_at, id
OFFSET (SELECT count(*) / 2 FROM budget_reservations) LIMIT 1 \gset
SELECT created_at AS amid_t, id AS amid_id FROM audit_log ORDER BY created_at, id
OFFSET (SELECT count(*) / 2 FROM audit_log) LIMIT 1 \gset
SELECT created_at AS aclast_t, id AS aclast_id FROM audit_log WHERE action = 'budget.commit'
ORDER BY created_at, id OFFSET 50 LIMIT 1 \gset

\echo '### reserve: lock the budget row (lockBudget)'
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM budget_limits WHERE tenant_id = :'tenant' AND project_id = :'project' LIMIT 1 FOR UPDATE;
\echo '### reserve: idempotent replay lookup (replay)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM budget_reservations WHERE tenant_id = :'tenant' AND project_id = :'project' AND idempotency_key = 'user:x|grow-2' LIMIT 1;
\echo '### reserve: move to reserved (reserveSQL)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
UPDATE budget_limits SET reserved = reserved + 1000, updated_at = now()
WHERE tenant_id = :'tenant' AND project_id = :'project' AND total_limit - used - reserved >= 1000;
ROLLBACK;

\echo '### commit/release: read the reservation (settleOne)'
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM budget_reservations WHERE id = :'pending_id' AND tenant_id = :'tenant' AND project_id = :'project' LIMIT 1;
\echo '### commit/release: conditional status change (transition)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
UPDATE budget_reservations SET actual_tokens = 900, settled_at = now(), status = 'committed'
WHERE id = :'pending_id' AND status = 'pending';
\echo '### commit/release: ledger row (its foreign key checks the reservation by primary key)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
INSERT INTO budget_transactions (reservation_id, tenant_id, project_id, kind, delta_reserved, delta_used, actor, request_id, at)
VALUES (:'pending_id', :'tenant', :'project', 'commit', -1000, 900, 'admin', 'explain', now());
\echo '### commit/release: move from reserved (settleSQL)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
UPDATE budget_limits SET reserved = reserved - 1000, used = used + 900, updated_at = now()
WHERE tenant_id = :'tenant' AND project_id = :'project';
ROLLBACK;

\echo '### GET /budget/state: pending reservations of the budget'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT count(*) FROM budget_reservations WHERE tenant_id = :'tenant' AND project_id = :'project' AND status = 'pending';

\echo '### GET /budget/reservations (platform admin, no filter): first page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM budget_reservations ORDER BY created_at DESC, id DESC LIMIT 51;
\echo '### GET /budget/reservations (no filter): last page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM budget_reservations WHERE created_at <= :'last_t'
  AND (created_at < :'last_t' OR (created_at = :'last_t' AND id < :'last_id'))
ORDER BY created_at DESC, id DESC LIMIT 51;
\echo '### GET /budget/reservations (no filter): a page in the middle'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM budget_reservations WHERE created_at <= :'mid_t'
  AND (created_at < :'mid_t' OR (created_at = :'mid_t' AND id < :'mid_id'))
ORDER BY created_at DESC, id DESC LIMIT 51;
\echo '### the same page without the created_at <= bound (the cursor condition before issue 21)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM budget_reservations WHERE (created_at < :'mid_t' OR (created_at = :'mid_t' AND id < :'mid_id'))
ORDER BY created_at DESC, id DESC LIMIT 51;
\echo '### GET /budget/reservations?tenant_id (what a tenant user sees): first page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM budget_reservations WHERE tenant_id = :'tenant' ORDER BY created_at DESC, id DESC LIMIT 51;
\echo '### GET /budget/reservations?tenant_id: last page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM budget_reservations WHERE tenant_id = :'tenant' AND created_at <= :'tlast_t'
  AND (created_at < :'tlast_t' OR (created_at = :'tlast_t' AND id < :'tlast_id'))
ORDER BY created_at DESC, id DESC LIMIT 51;
\echo '### GET /budget/reservations?tenant_id&project_id: last page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM budget_reservations WHERE tenant_id = :'tenant' AND project_id = :'project' AND created_at <= :'plast_t'
  AND (created_at < :'plast_t' OR (created_at = :'plast_t' AND id < :'plast_id'))
ORDER BY created_at DESC, id DESC LIMIT 51;
\echo '### GET /budget/reservations?tenant_id&status=pending: first page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM budget_reservations WHERE tenant_id = :'tenant' AND status = 'pending' ORDER BY created_at DESC, id DESC LIMIT 51;
\echo '### GET /budget/reservations?status=released: first page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM budget_reservations WHERE status = 'released' ORDER BY created_at DESC, id DESC LIMIT 51;

\echo '### sweeper: one batch of due reservations (dueSQL), locked'
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT id, tenant_id, project_id, tokens FROM budget_reservations
WHERE id IN (SELECT id FROM budget_reservations WHERE status = 'pending' AND expires_at <= now() + interval '2 days' ORDER BY expires_at LIMIT 500)
  AND status = 'pending'
ORDER BY tenant_id, project_id, id FOR UPDATE SKIP LOCKED;
\echo '### sweeper: nothing due (the query every tick runs)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT id, tenant_id, project_id, tokens FROM budget_reservations
WHERE id IN (SELECT id FROM budget_reservations WHERE status = 'pending' AND expires_at <= now() ORDER BY expires_at LIMIT 500)
  AND status = 'pending'
ORDER BY tenant_id, project_id, id FOR UPDATE SKIP LOCKED;
ROLLBACK;

\echo '### GET /audit: first page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM audit_log ORDER BY created_at DESC, id DESC LIMIT 51;
\echo '### GET /audit: last page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM audit_log WHERE created_at <= :'alast_t'
  AND (created_at < :'alast_t' OR (created_at = :'alast_t' AND id < :'alast_id'))
ORDER BY created_at DESC, id DESC LIMIT 51;
\echo '### GET /audit: a page in the middle'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM audit_log WHERE created_at <= :'amid_t'
  AND (created_at < :'amid_t' OR (created_at = :'amid_t' AND id < :'amid_id'))
ORDER BY created_at DESC, id DESC LIMIT 51;
\echo '### GET /audit?action=budget.commit: first page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM audit_log WHERE action = 'budget.commit' ORDER BY created_at DESC, id DESC LIMIT 51;
\echo '### GET /audit?action=budget.commit: last page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM audit_log WHERE action = 'budget.commit' AND created_at <= :'aclast_t'
  AND (created_at < :'aclast_t' OR (created_at = :'aclast_t' AND id < :'aclast_id'))
ORDER BY created_at DESC, id DESC LIMIT 51;
\echo '### GET /audit?action=budget.limit_set (an action with few entries): first page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM audit_log WHERE action = 'budget.limit_set' ORDER BY created_at DESC, id DESC LIMIT 51;
\echo '### GET /audit?user_id=<admin>: first page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM audit_log WHERE user_id = (SELECT id FROM users WHERE username = 'admin') ORDER BY created_at DESC, id DESC LIMIT 51;
\echo '### GET /audit?user_id=<nobody>: first page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM audit_log WHERE user_id = 'no-such-user' ORDER BY created_at DESC, id DESC LIMIT 51;
\echo '### GET /audit?resource_type=budget_reservation&resource_id=<id>'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM audit_log WHERE resource_type = 'budget_reservation' AND resource_id = :'pending_id' ORDER BY created_at DESC, id DESC LIMIT 51;
