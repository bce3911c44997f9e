package budget

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
)

// A call that runs alone (a batch of one: no other call of its kind was
// waiting) is served on PostgreSQL by one statement instead of a transaction
// of five: the conditional UPDATE that moves the counters or the status, and
// from its result the rows that go with it. One round trip instead of seven,
// 1.5–1.8× the cycle rate of a single client (docs/PERFORMANCE.md,
// Experiments). The statement decides exactly as the transaction would (the
// same conditions), and writes the same rows; what it cannot decide alone it
// leaves unchanged, and the call takes the transaction: a budget not created
// yet, a refusal (which must say what was available), a settlement that is
// not a plain move out of pending within the reservation's tokens, a caller's
// Also hook. Locks are taken in the batches' order (a reservation before its
// budget), and the combiner still runs one statement or batch of a kind at a
// time, so a lone call never races a batch of this process on the row lock.

// reserveAloneSQL approves one request on an existing budget, or changes
// nothing. The counters UPDATE runs first (the others read its result).
const reserveAloneSQL = `WITH b AS (
  UPDATE budget_limits SET reserved = reserved + @tokens ::bigint, updated_at = @now ::timestamptz
  WHERE tenant_id = @tenant ::text AND project_id = @project ::text AND total_limit - used - reserved >= @tokens ::bigint
  RETURNING total_limit - used - reserved AS available),
r AS (
  INSERT INTO budget_reservations (id, tenant_id, project_id, task_id, model, purpose, tokens, status,
    idempotency_key, request_hash, created_by, created_at, expires_at, principal_id)
  SELECT @id ::uuid, @tenant ::text, @project ::text, @task ::text, @model ::text, @purpose ::text, @tokens ::bigint, 'pending',
    @key ::text, @hash ::text, @created_by ::text, @now ::timestamptz, @expires ::timestamptz, @principal ::text FROM b
  RETURNING id),
l AS (
  INSERT INTO budget_transactions (reservation_id, tenant_id, project_id, kind, delta_reserved, delta_used, actor, request_id, at)
  SELECT r.id, @tenant ::text, @project ::text, 'reserve', @tokens ::bigint, 0, @actor ::text, @request_id ::text, @now ::timestamptz FROM r),
a AS (` + auditInsert + ` FROM r)
SELECT b.available FROM b, r`

// GORM's named arguments end at a space, so a cast is written "@name ::type".

// auditInsert writes the audit entry of @audit_* (audit.Row's columns);
// the statement completes it with a FROM.
const auditInsert = `INSERT INTO audit_log (user_id, role, principal_id, tenant_id, action, resource_type, resource_id,
    details, request_id, client_ip, created_at)
  SELECT @audit_user ::text, @audit_role ::text, @audit_principal ::text, @audit_tenant ::text, @audit_action ::text,
    @audit_type ::text, @audit_resource ::text, @audit_details ::jsonb, @audit_request ::text, @audit_ip ::text, @now ::timestamptz`

// reserveAlone serves c with reserveAloneSQL. handled is false when the
// statement changed nothing (a new budget, or one that cannot cover the
// request): the transaction decides then.
func (s *Service) reserveAlone(ctx context.Context, c reserveCall) (a Approval, handled bool, err error) {
	in := c.in
	id, err := uuid.NewV7()
	if err != nil {
		return Approval{}, false, fmt.Errorf("budget: new reservation id: %w", err)
	}
	now := s.now()
	details := map[string]any{
		"tenant_id": in.TenantID, "project_id": in.ProjectID, "task_id": in.TaskID, "model": in.Model,
		"tokens": in.EstimatedTokens,
	}
	var key *string
	if in.IdempotencyKey != "" {
		k := scopedKey(c.actor.PrincipalID, in.IdempotencyKey)
		key = &k
		details["idempotency_key"] = in.IdempotencyKey
	}
	args, err := auditArgs(audit.Item{Actor: c.actor, Entry: audit.Entry{
		Action: ActionRequest, ResourceType: resourceReservation, ResourceID: id.String(), Details: details,
	}}, now)
	if err != nil {
		return Approval{}, false, err
	}
	for k, v := range map[string]any{
		"id": id.String(), "tenant": in.TenantID, "project": in.ProjectID, "task": in.TaskID, "model": in.Model,
		"purpose": in.Purpose, "tokens": in.EstimatedTokens, "key": key, "hash": c.hash, "created_by": c.actor.Name(),
		"now": now, "expires": now.Add(s.ttl), "principal": c.actor.PrincipalID, "actor": c.actor.Name(),
		"request_id": c.actor.RequestID,
	} {
		args[k] = v
	}
	var available []int64
	if err := s.db.WithContext(ctx).Raw(reserveAloneSQL, args).Scan(&available).Error; err != nil {
		return Approval{}, false, fmt.Errorf("budget: reserve: %w", s.translate(err))
	}
	if len(available) == 0 {
		return Approval{}, false, nil
	}
	return Approval{ReservationID: id.String(), Allocated: in.EstimatedTokens, ExpiresAt: now.Add(s.ttl), Available: available[0]}, true, nil
}

// settleAloneSQL moves one pending reservation of the budget to @status
// (a commit within the reservation's tokens, or a release), or changes
// nothing. The status UPDATE runs first (the others read its result), so the
// reservation is locked before its budget, as in a batch.
const settleAloneSQL = `WITH s AS (
  UPDATE budget_reservations SET status = @status ::text, actual_tokens = @actual ::bigint, settled_at = @now ::timestamptz
  WHERE id = @id ::uuid AND tenant_id = @tenant ::text AND project_id = @project ::text AND status = 'pending'
    AND (@actual ::bigint IS NULL OR @actual ::bigint <= tokens)
  RETURNING id, tokens),
l AS (
  INSERT INTO budget_transactions (reservation_id, tenant_id, project_id, kind, delta_reserved, delta_used, actor, request_id, at,
    model, prompt_tokens, completion_tokens, cost_usd)
  SELECT s.id, @tenant ::text, @project ::text, @kind ::text, -s.tokens, @used ::bigint, @actor ::text, @request_id ::text, @now ::timestamptz,
    @usage_model ::text, @usage_prompt ::bigint, @usage_completion ::bigint, @usage_cost ::float8 FROM s),
a AS (` + auditInsertTokens + ` FROM s),
b AS (
  UPDATE budget_limits SET reserved = reserved - s.tokens, used = used + @used ::bigint, updated_at = @now ::timestamptz
  FROM s WHERE tenant_id = @tenant ::text AND project_id = @project ::text)
SELECT tokens FROM s`

// auditInsertTokens is auditInsert with the reservation's tokens (s.tokens)
// added to the details, which only the statement knows.
const auditInsertTokens = `INSERT INTO audit_log (user_id, role, principal_id, tenant_id, action, resource_type, resource_id,
    details, request_id, client_ip, created_at)
  SELECT @audit_user ::text, @audit_role ::text, @audit_principal ::text, @audit_tenant ::text, @audit_action ::text,
    @audit_type ::text, @audit_resource ::text, @audit_details ::jsonb || jsonb_build_object('tokens', s.tokens),
    @audit_request ::text, @audit_ip ::text, @now ::timestamptz`

// settleAlone serves c with settleAloneSQL. handled is false when the
// statement changed nothing (not pending, unknown, of another budget, or a
// commit above the reservation's tokens): the transaction decides then.
func (s *Service) settleAlone(ctx context.Context, c settleCall) (out Settlement, handled bool, err error) {
	now := s.now()
	kind, action := kindRelease, ActionRelease
	var actual, used any = nil, int64(0)
	details := map[string]any{"tenant_id": c.tenant, "project_id": c.project}
	if c.to == StatusCommitted {
		kind, action, actual, used = kindCommit, ActionCommit, c.actual, c.actual
		details["actual_tokens"] = c.actual
	}
	args, err := auditArgs(audit.Item{Actor: c.actor, Entry: audit.Entry{
		Action: action, ResourceType: resourceReservation, ResourceID: c.id, Details: details,
	}}, now)
	if err != nil {
		return Settlement{}, false, err
	}
	var usage models.BudgetTransaction
	if u := c.usage; u != nil && c.to == StatusCommitted {
		usage.Model, usage.PromptTokens, usage.CompletionTokens, usage.CostUSD = &u.Model, &u.PromptTokens, &u.CompletionTokens, &u.CostUSD
	}
	for k, v := range map[string]any{
		"id": c.id, "tenant": c.tenant, "project": c.project, "status": string(c.to), "actual": actual, "used": used,
		"kind": kind, "now": now, "actor": c.actor.Name(), "request_id": c.actor.RequestID,
		"usage_model": usage.Model, "usage_prompt": usage.PromptTokens, "usage_completion": usage.CompletionTokens,
		"usage_cost": usage.CostUSD,
	} {
		args[k] = v
	}
	var tokens []int64
	if err := s.db.WithContext(ctx).Raw(settleAloneSQL, args).Scan(&tokens).Error; err != nil {
		return Settlement{}, false, fmt.Errorf("budget: %s reservation: %w", c.to, s.translate(err))
	}
	if len(tokens) == 0 {
		return Settlement{}, false, nil
	}
	out = Settlement{ReservationID: c.id, Status: c.to, Tokens: tokens[0]}
	if c.to == StatusCommitted {
		out.Tokens = c.actual
	}
	return out, true, nil
}

// auditArgs are the @audit_* arguments: the columns of item's audit.Row.
func auditArgs(item audit.Item, at time.Time) (map[string]any, error) {
	r := audit.Row(item, at)
	details, err := json.Marshal(r.Details)
	if err != nil {
		return nil, fmt.Errorf("budget: audit details: %w", err)
	}
	return map[string]any{
		"audit_user": r.UserID, "audit_role": r.Role, "audit_principal": r.PrincipalID, "audit_tenant": r.TenantID,
		"audit_action": r.Action, "audit_type": r.ResourceType, "audit_resource": r.ResourceID,
		"audit_details": string(details), "audit_request": r.RequestID, "audit_ip": r.ClientIP,
	}, nil
}

// translate makes a raw statement's error the one GORM gives its own
// statements (gorm.ErrDuplicatedKey for a unique key), as the transaction
// path sees them.
func (s *Service) translate(err error) error {
	if t, ok := s.db.Dialector.(gorm.ErrorTranslator); ok {
		return t.Translate(err)
	}
	return err
}
