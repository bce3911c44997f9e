package budget

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

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
	// Empty: every call is a new reservation.
	IdempotencyKey string
}

// Approval is the answer to a granted request.
type Approval struct {
	ReservationID string
	Allocated     int64
	ExpiresAt     time.Time
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
		if a, found, err := s.replay(ctx, in, hash); err != nil || found {
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
		a, found, rerr := s.replay(ctx, in, hash)
		if rerr != nil || found {
			return a, rerr
		}
		return Approval{}, fmt.Errorf("budget: idempotency key collided but no reservation holds it: %w", err)
	}
	return Approval{}, err
}

// replay answers from the reservation stored under the request's key.
func (s *Service) replay(ctx context.Context, in RequestInput, hash string) (Approval, bool, error) {
	var r models.BudgetReservation
	err := s.db.WithContext(ctx).
		Where("tenant_id = ? AND project_id = ? AND idempotency_key = ?", in.TenantID, in.ProjectID, in.IdempotencyKey).
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

// errNoBudget says the tenant/project has no limit row yet.
var errNoBudget = errors.New("budget: no limit row")

// reserve stores the reservation, its ledger row and its audit entry and
// moves the tokens, all in one transaction. The conditional UPDATE of the
// budget row comes last, so the row lock that serialises a hot budget is held
// only from that statement to the commit. A budget without a limit row (the
// reservation's foreign key fails) is created with the default limit by a
// second attempt, inside its transaction, so a refused request leaves nothing.
func (s *Service) reserve(ctx context.Context, actor audit.Actor, in RequestInput, hash string) (Approval, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Approval{}, fmt.Errorf("budget: new reservation id: %w", err)
	}
	now := s.now()
	row := models.BudgetReservation{
		ID: id.String(), TenantID: in.TenantID, ProjectID: in.ProjectID, TaskID: in.TaskID, Model: in.Model,
		Purpose: in.Purpose, Tokens: in.EstimatedTokens, Status: string(StatusPending), RequestHash: hash,
		CreatedBy: actor.Name(), CreatedAt: now, ExpiresAt: now.Add(s.ttl),
	}
	if in.IdempotencyKey != "" {
		key := in.IdempotencyKey
		row.IdempotencyKey = &key
	}
	for create := false; ; create = true {
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return s.reserveTx(ctx, tx, actor, in, &row, create)
		})
		if errors.Is(err, errNoBudget) && !create {
			continue
		}
		if err != nil {
			return Approval{}, err
		}
		return Approval{ReservationID: row.ID, Allocated: row.Tokens, ExpiresAt: row.ExpiresAt}, nil
	}
}

func (s *Service) reserveTx(ctx context.Context, tx *gorm.DB, actor audit.Actor, in RequestInput, row *models.BudgetReservation, create bool) error {
	now := row.CreatedAt
	if create {
		err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&models.BudgetLimit{
			TenantID: in.TenantID, ProjectID: in.ProjectID, TotalLimit: s.defaultLimit, UpdatedAt: now,
		}).Error
		if err != nil {
			return fmt.Errorf("budget: create default limit: %w", err)
		}
	}
	if err := tx.Create(row).Error; err != nil {
		if errors.Is(err, gorm.ErrForeignKeyViolated) {
			return errNoBudget
		}
		return fmt.Errorf("budget: store reservation: %w", err)
	}
	if err := writeLedger(tx, &row.ID, in.TenantID, in.ProjectID, kindReserve, in.EstimatedTokens, 0, actor, now); err != nil {
		return err
	}
	details := map[string]any{
		"tenant_id": in.TenantID, "project_id": in.ProjectID, "task_id": in.TaskID, "model": in.Model,
		"tokens": in.EstimatedTokens,
	}
	if in.IdempotencyKey != "" {
		details["idempotency_key"] = in.IdempotencyKey
	}
	if err := s.audit.Record(ctx, tx, actor, audit.Entry{
		Action: ActionRequest, ResourceType: resourceReservation, ResourceID: row.ID, Details: details,
	}); err != nil {
		return err
	}
	return moveToReserved(tx, in.TenantID, in.ProjectID, in.EstimatedTokens, now)
}

// reserveSQL is the one statement that decides a reservation: it moves tokens
// from available to reserved or changes nothing. Concurrent statements on the
// same row are serialised by the database (row lock on PostgreSQL, the write
// lock on SQLite), each re-checking the condition, so reserved can never pass
// total_limit - used.
const reserveSQL = `UPDATE budget_limits SET reserved = reserved + ?, updated_at = ?
WHERE tenant_id = ? AND project_id = ? AND total_limit - used - reserved >= ?`

func moveToReserved(tx *gorm.DB, tenant, project string, tokens int64, now time.Time) error {
	res := tx.Exec(reserveSQL, tokens, now, tenant, project, tokens)
	if res.Error != nil {
		return fmt.Errorf("budget: reserve tokens: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	var lim models.BudgetLimit
	err := tx.Where("tenant_id = ? AND project_id = ?", tenant, project).Take(&lim).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return errNoBudget // only when foreign keys are not enforced
	}
	if err != nil {
		return fmt.Errorf("budget: read limit: %w", err)
	}
	return errs.New(errs.CodeBudgetInsufficient, "not enough tokens available in this budget").
		WithDetails(map[string]any{"available": available(lim), "requested": tokens})
}
