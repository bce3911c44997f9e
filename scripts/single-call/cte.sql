-- The same cycle as two statements (data-modifying CTEs): reserve = lock and move the
-- counters, insert reservation, ledger row and audit entry; commit likewise. See
-- docs/PERFORMANCE.md (Experiments: one statement per call). pgbench -n -c 1 -T 8 -f cte.sql DB
\set t 1000
\set p random(0, 99)
WITH b AS (UPDATE budget_limits SET reserved = reserved + :t, updated_at = now() WHERE tenant_id = 'x' AND project_id = :p::text AND total_limit - used - reserved >= :t RETURNING tenant_id, project_id),
r AS (INSERT INTO budget_reservations (id, tenant_id, project_id, task_id, model, purpose, tokens, status, request_hash, created_by, created_at, expires_at, principal_id) SELECT gen_random_uuid(), b.tenant_id, b.project_id, 'task', 'gpt-4o', 'bench', :t, 'pending', 'hash', 'user:bench', now(), now() + interval '1 hour', 'user:bench' FROM b RETURNING id, tenant_id, project_id),
l AS (INSERT INTO budget_transactions (reservation_id, tenant_id, project_id, kind, delta_reserved, delta_used, actor, request_id, at) SELECT r.id, r.tenant_id, r.project_id, 'reserve', :t, 0, 'user:bench', 'req', now() FROM r),
a AS (INSERT INTO audit_log (user_id, role, principal_id, tenant_id, action, resource_type, resource_id, details, request_id, created_at) SELECT 'u', 'admin', 'user:bench', r.tenant_id, 'budget.request', 'budget_reservation', r.id::text, '{"tokens": 1000}', 'req', now() FROM r)
SELECT id AS rid FROM r \gset
WITH s AS (UPDATE budget_reservations SET status = 'committed', actual_tokens = :t, settled_at = now() WHERE id = ':rid'::uuid AND tenant_id = 'x' AND project_id = :p::text AND status = 'pending' RETURNING id, tenant_id, project_id, tokens),
l AS (INSERT INTO budget_transactions (reservation_id, tenant_id, project_id, kind, delta_reserved, delta_used, actor, request_id, at) SELECT s.id, s.tenant_id, s.project_id, 'commit', -s.tokens, :t, 'user:bench', 'req', now() FROM s),
a AS (INSERT INTO audit_log (user_id, role, principal_id, tenant_id, action, resource_type, resource_id, details, request_id, created_at) SELECT 'u', 'admin', 'user:bench', s.tenant_id, 'budget.commit', 'budget_reservation', s.id::text, '{"tokens": 1000}', 'req', now() FROM s),
b AS (UPDATE budget_limits SET reserved = reserved - s.tokens, used = used + :t, updated_at = now() FROM s WHERE budget_limits.tenant_id = s.tenant_id AND budget_limits.project_id = s.project_id)
SELECT count(*) FROM s;
