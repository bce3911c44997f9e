package budget

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/errs"
)

// RequestInput asks to reserve tokens for one model call.
type RequestInput struct {
	TenantID        string
	ProjectID       string
	TaskID          string
	Model           string
	Purpose         string
	EstimatedTokens int64
	// IdempotencyKey makes retries safe: the same key with the same fields
	// returns the first answer, the same key with other fields is a conflict.
	// Keys are scoped to the caller (the actor's PrincipalID) and the
	// tenant/project, so two principals never share one. Empty: every call
	// is a new reservation.
	IdempotencyKey string
	// Also, when set, runs inside the transaction that stores the approved
	// reservation, after it: for a caller's own row that must exist exactly
	// when the reservation does (the gateway's call record). Its error fails
	// the request and rolls the reservation back; other calls of its batch
	// are retried without it when the error is gorm.ErrDuplicatedKey, and
	// fail with it otherwise, as with any error of the batch.
	Also func(tx *gorm.DB, reservationID string) error
	// Row, when set, returns a row (a pointer to a model) to store in the
	// transaction that stores the approved reservation, after it: the
	// Also of a plain insert, made cheap in a batch, whose rows of one type
	// go in one multi-row INSERT instead of one statement per call. Its
	// errors count as Also's.
	Row func(reservationID string) any
}

// scopedKey is how an idempotency key is stored: prefixed with the principal
// that sent it, so the unique index on (tenant_id, project_id,
// idempotency_key) keeps the keys of different principals apart without
// replacing that index (a contract step; migrations are expand-only).
// A principal id contains no '|', so the prefix is unambiguous.
func scopedKey(principal, key string) string { return principal + "|" + key }

// Approval is the answer to a granted request.
type Approval struct {
	ReservationID string
	Allocated     int64
	ExpiresAt     time.Time
	// Available is what the budget had left after this reservation, as the
	// transaction that approved it saw it (0 for a replay).
	Available int64
	// Replayed is true when this is the stored answer of an earlier call
	// with the same idempotency key.
	Replayed bool
}

func (in RequestInput) validate() error {
	var f fieldErrors
	f.id("tenant_id", in.TenantID)
	f.id("project_id", in.ProjectID)
	f.id("task_id", in.TaskID)
	f.id("model", in.Model)
	f.text("purpose", in.Purpose, MaxPurposeLength, false)
	f.tokens("estimated_tokens", in.EstimatedTokens)
	f.text("Idempotency-Key", in.IdempotencyKey, MaxIDLength, false)
	return f.err()
}

// hash is the SHA-256 of the request's fields in a fixed order: what "the
// same body" means for an idempotency key.
func (in RequestInput) hash() string {
	b, _ := json.Marshal([]any{in.TenantID, in.ProjectID, in.TaskID, in.Model, in.Purpose, in.EstimatedTokens}) // strings and an int always marshal
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Request reserves in.EstimatedTokens of the tenant/project budget, creating
// the budget with the default limit when it is new. It fails with
// budget.insufficient (details available, requested) when the budget cannot
// cover the request; such an answer is not stored, so a retry with the same
// key is evaluated afresh. A retry of an approved request with the same key
// and fields returns the first approval (Replayed), also when the retries
// race each other; the same key with other fields fails with
// idempotency.conflict.
func (s *Service) Request(ctx context.Context, actor audit.Actor, in RequestInput) (Approval, error) {
	if err := in.validate(); err != nil {
		return Approval{}, err
	}
	hash := in.hash()
	if in.IdempotencyKey != "" {
		if a, found, err := s.replay(ctx, actor, in, hash); err != nil || found {
			return a, err
		}
	}
	a, err := s.reserve(ctx, actor, in, hash)
	switch {
	case err == nil:
		s.metrics.requests.WithLabelValues(outcomeApproved).Inc()
		return a, nil
	case errs.Is(err, errs.CodeBudgetInsufficient):
		s.metrics.requests.WithLabelValues(outcomeInsufficient).Inc()
		return Approval{}, err
	case errors.Is(err, gorm.ErrDuplicatedKey) && in.IdempotencyKey != "":
		// A concurrent call with the same key committed first. This
		// transaction was rolled back (PostgreSQL aborts it on the
		// violation anyway); answer with the winner's reservation.
		a, found, rerr := s.replay(ctx, actor, in, hash)
		if rerr != nil || found {
			return a, rerr
		}
		return Approval{}, fmt.Errorf("budget: idempotency key collided but no reservation holds it: %w", err)
	}
	return Approval{}, err
}

// replay answers from the reservation stored under the caller's key.
func (s *Service) replay(ctx context.Context, actor audit.Actor, in RequestInput, hash string) (Approval, bool, error) {
	var r models.BudgetReservation
	err := s.db.WithContext(ctx).
		Where("tenant_id = ? AND project_id = ? AND idempotency_key = ?", in.TenantID, in.ProjectID, scopedKey(actor.PrincipalID, in.IdempotencyKey)).
		Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Approval{}, false, nil
	}
	if err != nil {
		return Approval{}, false, fmt.Errorf("budget: read reservation by idempotency key: %w", err)
	}
	if r.RequestHash != hash {
		return Approval{}, true, errs.New(errs.CodeIdempotencyClash,
			"this idempotency key was already used with a different request").
			WithDetails(map[string]any{"idempotency_key": in.IdempotencyKey})
	}
	s.metrics.requests.WithLabelValues(outcomeReplayed).Inc()
	return Approval{ReservationID: r.ID, Allocated: r.Tokens, ExpiresAt: r.ExpiresAt.UTC(), Replayed: true}, true, nil
}

// errNoneApproved rolls back a batch that approved nothing, so refused
// requests leave nothing behind, not even the default limit row of a new budget.
var errNoneApproved = errors.New("budget: no request of the batch approved")

// reserveCall is one Request waiting to be served by a batch.
type reserveCall struct {
	actor audit.Actor
	in    RequestInput
	hash  string
}

// reserve reserves for one request, in a batch with the other requests
// that are waiting, on any budget (see combiner).
func (s *Service) reserve(ctx context.Context, actor audit.Actor, in RequestInput, hash string) (Approval, error) {
	return s.reservations.do(ctx, reserveCall{actor: actor, in: in, hash: hash})
}

// maxCreateRaces bounds how often a batch runs again because a concurrent
// transaction created one of its new budgets (errBudgetCreated); each run
// finds more of its budgets existing, so a second run almost always succeeds.
const maxCreateRaces = 3

// reserveBatch serves requests on any budgets in one transaction. It locks
// the existing budgets of the batch in (tenant, project) order, approves the
// requests of each budget in arrival order while it covers them (a budget
// seen for the first time has the default limit), creates the new budgets
// that approved something, stores the approved reservations with their ledger
// rows and audit entries (one multi-row INSERT each), and moves the sums to
// reserved with the conditional UPDATE. A request the budget cannot cover
// gets budget.insufficient with what was available to it. A second request of
// the batch under an idempotency key the batch already approved gets
// gorm.ErrDuplicatedKey, as it would racing alone, and Request answers it
// with the winner's reservation. When a request collides with a key another
// transaction stored meanwhile, the unique key fails the transaction; each
// request is then served alone, so only the loser gets gorm.ErrDuplicatedKey.
func (s *Service) reserveBatch(ctx context.Context, calls []reserveCall) []outcome[Approval] {
	s.metrics.batchSize.WithLabelValues(batchReserve).Observe(float64(len(calls)))
	if len(calls) == 1 && s.pg && calls[0].in.Also == nil && calls[0].in.Row == nil {
		if a, handled, err := s.reserveAlone(ctx, calls[0]); handled || err != nil {
			return []outcome[Approval]{{out: a, err: err}}
		}
	}
	out := make([]outcome[Approval], len(calls))
	var err error
	for range maxCreateRaces {
		clear(out)
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return s.reserveTx(ctx, tx, calls, out)
		})
		if !errors.Is(err, errBudgetCreated) {
			break
		}
	}
	switch {
	case err == nil || errors.Is(err, errNoneApproved):
		return out
	case errors.Is(err, gorm.ErrDuplicatedKey) && len(calls) > 1:
		for i := range calls {
			out[i] = s.reserveBatch(ctx, calls[i:i+1])[0]
		}
		return out
	}
	return fail[Approval](len(calls), err)
}

// idemKey is an idempotency key as the unique index sees it.
type idemKey struct {
	budgetKey
	key string
}

func (s *Service) reserveTx(ctx context.Context, tx *gorm.DB, calls []reserveCall, out []outcome[Approval]) error {
	now := s.now()
	first := map[budgetKey]audit.Actor{} // the actor of each budget's first call
	for _, c := range calls {
		k := budgetKey{c.in.TenantID, c.in.ProjectID}
		if _, ok := first[k]; !ok {
			first[k] = c.actor
		}
	}
	limits, err := s.lockBudgets(tx, sortedKeys(first))
	if err != nil {
		return err
	}
	left := make(map[budgetKey]int64, len(first))
	for k := range first {
		left[k] = s.defaultLimit
		if l, ok := limits[k]; ok {
			left[k] = available(l)
		}
	}
	var (
		rows     []models.BudgetReservation
		ledger   []models.BudgetTransaction
		entries  []audit.Item
		moves    = map[budgetKey]counterMove{}
		approved = map[idemKey]bool{}
	)
	for i, c := range calls {
		in := c.in
		k := budgetKey{in.TenantID, in.ProjectID}
		var ik idemKey
		if in.IdempotencyKey != "" {
			ik = idemKey{k, scopedKey(c.actor.PrincipalID, in.IdempotencyKey)}
			if approved[ik] {
				out[i].err = fmt.Errorf("budget: idempotency key approved earlier in the batch: %w", gorm.ErrDuplicatedKey)
				continue
			}
		}
		if in.EstimatedTokens > left[k] {
			out[i].err = insufficient(left[k], in.EstimatedTokens)
			continue
		}
		left[k] -= in.EstimatedTokens
		moves[k] = counterMove{reserved: moves[k].reserved + in.EstimatedTokens}
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("budget: new reservation id: %w", err)
		}
		row := models.BudgetReservation{
			ID: id.String(), TenantID: k.tenant, ProjectID: k.project, TaskID: in.TaskID, Model: in.Model,
			Purpose: in.Purpose, Tokens: in.EstimatedTokens, Status: string(StatusPending), RequestHash: c.hash,
			CreatedBy: c.actor.Name(), CreatedAt: now, ExpiresAt: now.Add(s.ttl),
		}
		details := map[string]any{
			"tenant_id": k.tenant, "project_id": k.project, "task_id": in.TaskID, "model": in.Model,
			"tokens": in.EstimatedTokens,
		}
		principal := c.actor.PrincipalID
		row.PrincipalID = &principal
		if in.IdempotencyKey != "" {
			row.IdempotencyKey = &ik.key
			details["idempotency_key"] = in.IdempotencyKey
			approved[ik] = true
		}
		rows = append(rows, row)
		ledger = append(ledger, ledgerRow(&row.ID, k.tenant, k.project, kindReserve, in.EstimatedTokens, 0, c.actor, now))
		entries = append(entries, audit.Item{Actor: c.actor, Entry: audit.Entry{
			Action: ActionRequest, ResourceType: resourceReservation, ResourceID: row.ID, Details: details,
		}})
		out[i].out = Approval{ReservationID: row.ID, Allocated: row.Tokens, ExpiresAt: row.ExpiresAt, Available: left[k]}
	}
	if len(rows) == 0 {
		return errNoneApproved
	}
	// Only new budgets that approved something are created: refused requests
	// leave nothing behind, not even a default limit row.
	var missing []budgetKey
	for _, k := range sortedKeys(moves) {
		if _, ok := limits[k]; !ok {
			missing = append(missing, k)
		}
	}
	if err := s.createBudgets(ctx, tx, missing, first, now); err != nil {
		return err
	}
	if err := tx.Create(&rows).Error; err != nil {
		return fmt.Errorf("budget: store reservations: %w", err)
	}
	if err := writeLedger(tx, ledger...); err != nil {
		return err
	}
	if err := s.audit.RecordAll(ctx, tx, entries); err != nil {
		return err
	}
	for i, c := range calls {
		if c.in.Also != nil && out[i].err == nil {
			if err := c.in.Also(tx, out[i].out.ReservationID); err != nil {
				return fmt.Errorf("budget: in the transaction of reservation %s: %w", out[i].out.ReservationID, err)
			}
		}
	}
	if err := insertRows(tx, calls, out); err != nil {
		return err
	}
	return s.moveCounters(tx, moves, true, now)
}

// insertRows stores the Row of every approved call of a batch, one INSERT
// per type of row, in the order the types first appear.
func insertRows(tx *gorm.DB, calls []reserveCall, out []outcome[Approval]) error {
	var (
		types []reflect.Type
		rows  = map[reflect.Type]reflect.Value{}
	)
	for i, c := range calls {
		if c.in.Row == nil || out[i].err != nil {
			continue
		}
		row := reflect.ValueOf(c.in.Row(out[i].out.ReservationID))
		t := row.Type()
		if _, ok := rows[t]; !ok {
			types = append(types, t)
			rows[t] = reflect.MakeSlice(reflect.SliceOf(t), 0, len(calls)-i)
		}
		rows[t] = reflect.Append(rows[t], row)
	}
	for _, t := range types {
		if err := tx.Create(rows[t].Interface()).Error; err != nil {
			return fmt.Errorf("budget: store the rows of the batch's reservations (%s): %w", t, err)
		}
	}
	return nil
}

func insufficient(available, requested int64) error {
	return errs.New(errs.CodeBudgetInsufficient, "not enough tokens available in this budget").
		WithDetails(map[string]any{"available": available, "requested": requested})
}

// reserveSQL moves tokens from available to reserved. The batch decided
// under the row lock of lockBudgets; the condition repeats that decision in
// the statement itself, so reserved can never pass total_limit - used: a
// statement that would pass it changes nothing and fails the transaction.
const reserveSQL = `UPDATE budget_limits SET reserved = reserved + ?, updated_at = ?
WHERE tenant_id = ? AND project_id = ? AND total_limit - used - reserved >= ?`

// moveToReserved runs reserveSQL on the locked budget row; the batch approved
// no more than was available, so it matches, and anything else is a bug.
func moveToReserved(tx *gorm.DB, tenant, project string, tokens int64, now time.Time) error {
	res := tx.Exec(reserveSQL, tokens, now, tenant, project, tokens)
	if res.Error != nil {
		return fmt.Errorf("budget: reserve tokens: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("budget: reserve tokens: %d of %s/%s not available on the locked row", tokens, tenant, project)
	}
	return nil
}
