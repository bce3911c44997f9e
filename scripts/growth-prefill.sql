-- growth-prefill.sql — fills a migrated PostgreSQL database with a grown
-- budget ledger, straight in SQL (generate_series, INSERT … SELECT), not
-- through the API: `reservations` reservations spread round-robin over
-- `budgets` budgets (tenants grow0, grow1, … of 1 000 projects p0…p999 each),
-- the ledger rows and audit entries the service would have written for them,
-- and the budgets' counters computed from them, so `control-plane reconcile`
-- finds every budget in agreement. For docs/PERFORMANCE.md (issue 21, growth);
-- scripts/bench.sh runs it in the growth section (BENCH_ONLY=growth):
--
--   psql -X -h 127.0.0.1 -U postgres -d DB -v budgets=10000 -v reservations=1000000 \
--        -v admin_id="$(psql -XtA ... -c "SELECT id FROM users WHERE username = 'admin'")" \
--        -f scripts/growth-prefill.sql
--
-- Reservation n (1 … reservations) is the kth (k = n / budgets) of budget
-- b = n % budgets and was created (reservations − n) × 2 s ago, so the newest
-- is the last. By (k + b) % 20, so that every budget and every stretch of
-- time has each kind: 2 in 20 are pending (they expire in one day, so the
-- sweeper leaves them alone until the bench makes them due), 1 released,
-- 1 expired by the sweeper, the rest committed one second after they were
-- reserved; every other one carries an idempotency key. Ids are UUIDv7-like (creation millisecond first), as the
-- service makes them.
\set ON_ERROR_STOP 1
\timing on
BEGIN;

INSERT INTO tenants (id, name, created_at, updated_at)
SELECT 'grow' || t, 'growth bench ' || t, now() - interval '60 days', now() - interval '60 days'
FROM generate_series(0, (:budgets - 1) / 1000) t
ON CONFLICT (id) DO NOTHING;

INSERT INTO budget_limits (tenant_id, project_id, total_limit, used, reserved, updated_at)
SELECT 'grow' || (b / 1000), 'p' || (b % 1000), 1000000000000000, 0, 0, now() - interval '60 days'
FROM generate_series(0, :budgets - 1) b;

CREATE TEMP TABLE grow ON COMMIT DROP AS
SELECT n, tenant_id, project_id, created_at, tokens, status,
       CASE WHEN status = 'committed' THEN tokens - (n % 5) * 10 END AS actual,
       CASE WHEN status = 'pending' THEN NULL ELSE created_at + interval '1 second' END AS settled_at,
       (substr(ms, 1, 8) || '-' || substr(ms, 9, 4) || '-7' || substr(h, 1, 3) || '-8' || substr(h, 4, 3) || '-' || substr(h, 7, 12))::uuid AS id
FROM (
    SELECT n,
           'grow' || ((n % :budgets) / 1000) AS tenant_id,
           'p' || ((n % :budgets) % 1000) AS project_id,
           ts AS created_at,
           1000 + (n % 7) * 100 AS tokens,
           CASE (n / :budgets + n % :budgets) % 20 WHEN 0 THEN 'pending' WHEN 10 THEN 'pending'
                WHEN 1 THEN 'released' WHEN 3 THEN 'expired' ELSE 'committed' END AS status,
           lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') AS ms,
           md5(n::text) AS h
    FROM (SELECT n, date_trunc('milliseconds', now()) - (:reservations - n) * interval '2 seconds' AS ts
          FROM generate_series(1, :reservations) n) s
) g;

INSERT INTO budget_reservations (id, tenant_id, project_id, task_id, model, purpose, tokens, actual_tokens, status,
                                 idempotency_key, request_hash, created_by, created_at, expires_at, settled_at, principal_id)
SELECT id, tenant_id, project_id, 'task-' || n, 'gpt-4o', '', tokens, actual, status,
       CASE WHEN n / :budgets % 2 = 0 THEN 'user:' || :'admin_id' || '|grow-' || n END,
       md5('request' || n), 'admin', created_at,
       CASE WHEN status = 'pending' THEN now() + interval '1 day' ELSE created_at + interval '1 hour' END,
       settled_at, 'user:' || :'admin_id'
FROM grow ORDER BY n;

-- Ledger: the reserve row of each, then its settlement, in time order (so
-- the bigserial ids grow with time, as the service writes them).
INSERT INTO budget_transactions (reservation_id, tenant_id, project_id, kind, delta_reserved, delta_used, actor, request_id, at)
SELECT id, tenant_id, project_id, kind, delta_reserved, delta_used, actor, request_id, at FROM (
    SELECT id, tenant_id, project_id, 'reserve' AS kind, tokens AS delta_reserved, 0 AS delta_used, 'admin' AS actor,
           'grow-req-' || n AS request_id, created_at AS at
    FROM grow
    UNION ALL
    SELECT id, tenant_id, project_id,
           CASE status WHEN 'committed' THEN 'commit' WHEN 'released' THEN 'release' ELSE 'expire' END,
           -tokens, COALESCE(actual, 0),
           CASE WHEN status = 'expired' THEN 'system:sweeper' ELSE 'admin' END,
           CASE WHEN status = 'expired' THEN '' ELSE 'grow-settle-' || n END, settled_at
    FROM grow WHERE status <> 'pending'
) l ORDER BY at, kind DESC;

-- Audit: one entry per action, as services/budget writes them.
INSERT INTO audit_log (user_id, role, principal_id, tenant_id, action, resource_type, resource_id, details, request_id, client_ip, created_at)
SELECT user_id, role, principal_id, tenant, action, 'budget_reservation', id::text, details, request_id, client_ip, at FROM (
    SELECT :'admin_id' AS user_id, 'admin' AS role, 'user:' || :'admin_id' AS principal_id, '' AS tenant,
           'budget.request' AS action, id,
           jsonb_build_object('tenant_id', tenant_id, 'project_id', project_id, 'task_id', 'task-' || n, 'model', 'gpt-4o',
                              'tokens', tokens) AS details,
           'grow-req-' || n AS request_id, '127.0.0.1' AS client_ip, created_at AS at
    FROM grow
    UNION ALL
    SELECT CASE WHEN status = 'expired' THEN '' ELSE :'admin_id' END,
           CASE WHEN status = 'expired' THEN '' ELSE 'admin' END,
           CASE WHEN status = 'expired' THEN 'system:sweeper' ELSE 'user:' || :'admin_id' END,
           CASE WHEN status = 'expired' THEN tenant_id ELSE '' END,
           'budget.' || CASE status WHEN 'committed' THEN 'commit' WHEN 'released' THEN 'release' ELSE 'expire' END, id,
           jsonb_build_object('tenant_id', tenant_id, 'project_id', project_id, 'tokens', tokens)
               || CASE WHEN status = 'committed' THEN jsonb_build_object('actual_tokens', actual) ELSE '{}' END,
           CASE WHEN status = 'expired' THEN '' ELSE 'grow-settle-' || n END,
           CASE WHEN status = 'expired' THEN '' ELSE '127.0.0.1' END, settled_at
    FROM grow WHERE status <> 'pending'
) a ORDER BY at, action DESC;

-- The counters, from the reservations: what Reconcile recomputes.
UPDATE budget_limits l SET used = s.used, reserved = s.reserved
FROM (SELECT tenant_id, project_id,
             SUM(COALESCE(actual, 0)) AS used,
             SUM(CASE WHEN status = 'pending' THEN tokens ELSE 0 END) AS reserved
      FROM grow GROUP BY tenant_id, project_id) s
WHERE l.tenant_id = s.tenant_id AND l.project_id = s.project_id;

COMMIT;

VACUUM ANALYZE tenants, budget_limits, budget_reservations, budget_transactions, audit_log;

SELECT (SELECT count(*) FROM budget_limits) AS budgets,
       (SELECT count(*) FROM budget_reservations) AS reservations,
       (SELECT count(*) FROM budget_reservations WHERE status = 'pending') AS pending,
       (SELECT count(*) FROM budget_transactions) AS ledger_rows,
       (SELECT count(*) FROM audit_log) AS audit_entries,
       pg_size_pretty(pg_database_size(current_database())) AS database_size;
