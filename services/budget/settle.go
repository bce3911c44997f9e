package budget

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/errs"
)

// CommitInput settles a reservation with the tokens the call really used.
type CommitInput struct {
	TenantID      string
	ProjectID     string
	ReservationID string
	// ActualTokens may exceed the reservation; used then grows by the
	// actual amount and may pass the total.
	ActualTokens int64
	// Usage, when set, is recorded on the commit's ledger row.
	Usage *Usage
	// Also, when set, runs inside the transaction that commits, only when
	// this call moved the reservation (not on a replay or a conflict): for
	// a caller's own row that must change with the commit. Its error fails
	// the whole batch the commit ran in, as any error of the batch does.
	Also func(tx *gorm.DB) error
}

// Usage is the model call a commit paid for: recorded on its ledger row,
// which /usage sums.
type Usage struct {
	Model                          string
	PromptTokens, CompletionTokens int64
	CostUSD                        float64
}

// ReleaseInput cancels a reservation.
type ReleaseInput struct {
	TenantID      string
	ProjectID     string
	ReservationID string
}

// Settlement is the answer to a commit or a release.
type Settlement struct {
	ReservationID string
	Status        Status
	// Tokens is the actual tokens of a commit, or the reserved tokens a
	// release returned to the budget.
	Tokens int64
	// Replayed is true when the reservation was already settled the same
	// way and nothing changed.
	Replayed bool
}

// Commit settles a pending reservation: reserved shrinks by the reservation's
// tokens and used grows by in.ActualTokens. Committing again with the same
// actual tokens returns the same answer; with other tokens, or after a
// release or expiry, it fails with state.conflict. An unknown reservation, or
// one of another tenant/project, is resource.not_found. Actual tokens above
// the reservation's tokens × CommitMaxRatio are a 422 (see Options).
func (s *Service) Commit(ctx context.Context, actor audit.Actor, in CommitInput) (Settlement, error) {
	var f fieldErrors
	f.id("tenant_id", in.TenantID)
	f.id("project_id", in.ProjectID)
	f.id("reservation_id", in.ReservationID)
	f.tokens("actual_tokens", in.ActualTokens)
	if err := f.err(); err != nil {
		return Settlement{}, err
	}
	out, err := s.settle(ctx, settleCall{
		actor: actor, tenant: in.TenantID, project: in.ProjectID, id: in.ReservationID, to: StatusCommitted,
		actual: in.ActualTokens, usage: in.Usage, also: in.Also,
	})
	if err == nil && !out.Replayed {
		s.metrics.commits.Inc()
	}
	return out, err
}

// Release cancels a pending reservation and returns its tokens to the
// budget. Releasing again returns the same answer; releasing a committed or
// expired reservation fails with state.conflict.
func (s *Service) Release(ctx context.Context, actor audit.Actor, in ReleaseInput) (Settlement, error) {
	var f fieldErrors
	f.id("tenant_id", in.TenantID)
	f.id("project_id", in.ProjectID)
	f.id("reservation_id", in.ReservationID)
	if err := f.err(); err != nil {
		return Settlement{}, err
	}
	out, err := s.settle(ctx, settleCall{
		actor: actor, tenant: in.TenantID, project: in.ProjectID, id: in.ReservationID, to: StatusReleased,
	})
	if err == nil && !out.Replayed {
		s.metrics.releases.Inc()
	}
	return out, err
}

// settleCall is one Commit or Release waiting to be served by a batch.
type settleCall struct {
	actor           audit.Actor
	tenant, project string
	id              string
	to              Status
	actual          int64
	usage           *Usage               // commits only
	also            func(*gorm.DB) error // commits only
}

// settle moves a reservation from pending to c.to (committed or released),
// in a batch with the other settlements on the same budget that are waiting
// (see combiner).
func (s *Service) settle(ctx context.Context, c settleCall) (Settlement, error) {
	id, err := reservationID(c.id)
	if err != nil {
		return Settlement{}, err
	}
	c.id = id
	return s.settlements.do(ctx, budgetKey{c.tenant, c.project}, c)
}

// settleBatch settles reservations of one budget in one transaction. For
// each, the conditional status UPDATE decides between concurrent commits,
// releases and the sweeper: exactly one of them changes the row. The winners'
// ledger rows and audit entries are written together, and the budget row is
// updated last, once, by their sums, so it stays locked only until the commit.
// Reservations are settled in id order, so two batches never wait for each
// other's rows in opposite orders.
func (s *Service) settleBatch(ctx context.Context, calls []settleCall) []outcome[Settlement] {
	out := make([]outcome[Settlement], len(calls))
	order := make([]int, len(calls))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(calls[a].id, calls[b].id) })
	tenant, project := calls[0].tenant, calls[0].project
	now := s.now()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var (
			ledger         []models.BudgetTransaction
			entries        []audit.Item
			reserved, used int64
		)
		for _, i := range order {
			c := calls[i]
			res, won, err := s.settleOne(tx, c, now)
			if err != nil {
				return err
			}
			if !won {
				out[i] = res
				continue
			}
			id, tokens := c.id, res.out.Tokens
			kind, action, actual := kindRelease, ActionRelease, int64(0)
			details := map[string]any{"tenant_id": tenant, "project_id": project, "tokens": tokens}
			out[i].out = Settlement{ReservationID: id, Status: c.to, Tokens: tokens}
			if c.to == StatusCommitted {
				kind, action, actual = kindCommit, ActionCommit, c.actual
				details["actual_tokens"] = actual
				out[i].out.Tokens = actual
			}
			row := ledgerRow(&id, tenant, project, kind, -tokens, actual, c.actor, now)
			if u := c.usage; u != nil && c.to == StatusCommitted {
				row.Model, row.PromptTokens, row.CompletionTokens, row.CostUSD = &u.Model, &u.PromptTokens, &u.CompletionTokens, &u.CostUSD
			}
			ledger = append(ledger, row)
			if c.also != nil {
				if err := c.also(tx); err != nil {
					return fmt.Errorf("budget: in the transaction of reservation %s: %w", id, err)
				}
			}
			entries = append(entries, audit.Item{Actor: c.actor, Entry: audit.Entry{
				Action: action, ResourceType: resourceReservation, ResourceID: id, Details: details,
			}})
			reserved += tokens
			used += actual
		}
		if len(ledger) == 0 {
			return nil
		}
		if err := writeLedger(tx, ledger...); err != nil {
			return err
		}
		if err := s.audit.RecordAll(ctx, tx, entries); err != nil {
			return err
		}
		// Last, so the budget row stays locked only until the commit.
		return moveFromReserved(tx, tenant, project, reserved, used, now)
	})
	if err != nil {
		return fail[Settlement](len(calls), err)
	}
	return out
}

// settleOne moves one reservation out of pending inside tx. won reports
// that this call did; then res.out.Tokens is the reservation's tokens.
// Otherwise res is the answer: not found, a commit above the cap, a replay
// of the same settlement, or a conflict.
func (s *Service) settleOne(tx *gorm.DB, c settleCall, now time.Time) (res outcome[Settlement], won bool, err error) {
	var r models.BudgetReservation
	err = tx.Where("id = ? AND tenant_id = ? AND project_id = ?", c.id, c.tenant, c.project).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return outcome[Settlement]{err: notFound()}, false, nil
	}
	if err != nil {
		return res, false, fmt.Errorf("budget: read reservation: %w", err)
	}
	if c.to == StatusCommitted {
		if capped := s.maxActual(r.Tokens); c.actual > capped {
			return outcome[Settlement]{err: overCap(r.Tokens, capped, s.commitRatio)}, false, nil
		}
	}
	if Status(r.Status) == StatusPending {
		if won, err = transition(tx, c.id, c.to, c.actual, now); err != nil {
			return res, false, err
		}
	}
	if won {
		return outcome[Settlement]{out: Settlement{Tokens: r.Tokens}}, true, nil
	}
	// Settled before this call (or by a concurrent one that held the row
	// first): read the final state and compare.
	if err := tx.Where("id = ?", c.id).Take(&r).Error; err != nil {
		return res, false, fmt.Errorf("budget: re-read reservation: %w", err)
	}
	settled, err := alreadySettled(r, c.to, c.actual)
	return outcome[Settlement]{out: settled, err: err}, false, nil
}

// transition is the conditional status change: it reports whether this call
// moved the reservation out of pending.
func transition(tx *gorm.DB, id string, to Status, actual int64, now time.Time) (bool, error) {
	set := map[string]any{"status": string(to), "settled_at": now}
	if to == StatusCommitted {
		set["actual_tokens"] = actual
	}
	res := tx.Model(&models.BudgetReservation{}).Where("id = ? AND status = ?", id, string(StatusPending)).Updates(set)
	if res.Error != nil {
		return false, fmt.Errorf("budget: %s reservation: %w", to, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// alreadySettled answers a commit or release of a reservation that is no
// longer pending: the same settlement again is a replay, anything else a
// conflict naming the current state.
func alreadySettled(r models.BudgetReservation, to Status, actual int64) (Settlement, error) {
	status := Status(r.Status)
	details := map[string]any{"status": r.Status}
	if r.ActualTokens != nil {
		details["actual_tokens"] = *r.ActualTokens
	}
	switch {
	case status == StatusCommitted && to == StatusCommitted && r.ActualTokens != nil && *r.ActualTokens == actual:
		return Settlement{ReservationID: r.ID, Status: status, Tokens: actual, Replayed: true}, nil
	case status == StatusReleased && to == StatusReleased:
		return Settlement{ReservationID: r.ID, Status: status, Tokens: r.Tokens, Replayed: true}, nil
	case status == to:
		return Settlement{}, errs.New(errs.CodeConflict,
			"the reservation was already committed with other actual tokens").WithDetails(details)
	}
	return Settlement{}, errs.Newf(errs.CodeConflict, "the reservation is %s and cannot be %s", r.Status, to).
		WithDetails(details)
}

// maxActual is the most a reservation of tokens may commit: tokens ×
// CommitMaxRatio, rounded down, never below tokens.
func (s *Service) maxActual(tokens int64) int64 {
	return max(tokens, int64(math.Floor(float64(tokens)*s.commitRatio)))
}

// overCap is the 422 of a commit above maxActual.
func overCap(estimated, capped int64, ratio float64) error {
	e := errs.Validation(errs.FieldError{
		Field:   "actual_tokens",
		Message: fmt.Sprintf("must be at most %d: the reservation's %d tokens × BUDGET_COMMIT_MAX_RATIO %g", capped, estimated, ratio),
	})
	return e.WithDetails(map[string]any{
		"errors": e.Details["errors"], "estimated_tokens": estimated, "max_actual_tokens": capped, "commit_max_ratio": ratio,
	})
}
