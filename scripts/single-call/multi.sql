-- The service's request + commit cycle on one budget of 100, as one client sends it
-- today: two transactions, one statement per round trip. See docs/PERFORMANCE.md
-- (Experiments: one statement per call). pgbench -n -c 1 -T 8 -f multi.sql DB
\set t 1000
\set p random(0, 99)
BEGIN;
SELECT * FROM budget_limits WHERE tenant_id = 'x' AND project_id = :p::text FOR UPDATE;
INSERT INTO budget_reservations (id, tenant_id, project_id, task_id, model, purpose, tokens, status, request_hash, created_by, created_at, expires_at, principal_id) VALUES (gen_random_uuid(), 'x', :p::text, 'task', 'gpt-4o', 'bench', :t, 'pending', 'hash', 'user:bench', now(), now() + interval '1 hour', 'user:bench') RETURNING id AS rid \gset
INSERT INTO budget_transactions (reservation_id, tenant_id, project_id, kind, delta_reserved, delta_used, actor, request_id, at) VALUES (':rid'::uuid, 'x', :p::text, 'reserve', :t, 0, 'user:bench', 'req', now());
INSERT INTO audit_log (user_id, role, principal_id, tenant_id, action, resource_type, resource_id, details, request_id, created_at) VALUES ('u', 'admin', 'user:bench', 'x', 'budget.request', 'budget_reservation', ':rid', '{"tokens": 1000}', 'req', now());
UPDATE budget_limits SET reserved = reserved + :t, updated_at = now() WHERE tenant_id = 'x' AND project_id = :p::text;
COMMIT;
BEGIN;
SELECT * FROM budget_reservations WHERE id = ':rid'::uuid AND tenant_id = 'x' AND project_id = :p::text;
UPDATE budget_reservations SET status = 'committed', actual_tokens = :t, settled_at = now() WHERE id = ':rid'::uuid AND status = 'pending';
INSERT INTO budget_transactions (reservation_id, tenant_id, project_id, kind, delta_reserved, delta_used, actor, request_id, at) VALUES (':rid'::uuid, 'x', :p::text, 'commit', -:t, :t, 'user:bench', 'req', now());
INSERT INTO audit_log (user_id, role, principal_id, tenant_id, action, resource_type, resource_id, details, request_id, created_at) VALUES ('u', 'admin', 'user:bench', 'x', 'budget.commit', 'budget_reservation', ':rid', '{"tokens": 1000}', 'req', now());
UPDATE budget_limits SET reserved = reserved - :t, used = used + :t, updated_at = now() WHERE tenant_id = 'x' AND project_id = :p::text;
COMMIT;
