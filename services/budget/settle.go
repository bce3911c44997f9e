package budget

import (
	"context"
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
// in a batch with the other settlements that are waiting, on any budget (see
// combiner).
func (s *Service) settle(ctx context.Context, c settleCall) (Settlement, error) {
	id, err := reservationID(c.id)
	if err != nil {
		return Settlement{}, err
	}
	c.id = id
	return s.settlements.do(ctx, c)
}

// settleBatch settles reservations of any budgets in one transaction. One
// statement moves every reservation of the batch that is still pending, of
// the named tenant/project and (for a commit) within the cap, locking them
// in id order first (settleSQL): exactly one of concurrent commits, releases
// and the sweeper changes a row. The first call on each reservation is the
// one the statement tries; every other call (a retry, a conflict, a
// reservation that did not move) is answered from the reservation as the
// call alone would be. The winners' ledger rows and audit entries are written
// together, and the budget rows are updated last, once each, by their sums,
// in (tenant, project) order, so they stay locked only until the commit.
func (s *Service) settleBatch(ctx context.Context, calls []settleCall) []outcome[Settlement] {
	s.metrics.batchSize.WithLabelValues(batchSettle).Observe(float64(len(calls)))
	if len(calls) == 1 && s.pg && calls[0].also == nil {
		if res, handled, err := s.settleAlone(ctx, calls[0]); handled || err != nil {
			return []outcome[Settlement]{{out: res, err: err}}
		}
	}
	out := make([]outcome[Settlement], len(calls))
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return s.settleTx(ctx, tx, calls, out)
	})
	if err != nil {
		return fail[Settlement](len(calls), err)
	}
	return out
}

func (s *Service) settleTx(ctx context.Context, tx *gorm.DB, calls []settleCall, out []outcome[Settlement]) error {
	now := s.now()
	order := make([]int, len(calls))
	for i := range order {
		order[i] = i
	}
	// By id, then in arrival order: the first call on a reservation is tried.
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(calls[a].id, calls[b].id) })
	var tried []settleCall
	for j, i := range order {
		if j == 0 || calls[i].id != calls[order[j-1]].id {
			tried = append(tried, calls[i])
		}
	}
	moved, err := s.transitionAll(tx, tried, now)
	if err != nil {
		return err
	}
	// The reservations that did not move, as they are now: settled before,
	// unknown, of another budget, or a commit above the cap.
	var stay []string
	for _, c := range tried {
		if _, ok := moved[c.id]; !ok {
			stay = append(stay, c.id)
		}
	}
	current := map[string]models.BudgetReservation{}
	if len(stay) > 0 {
		var rows []models.BudgetReservation
		if err := tx.Where("id IN ?", stay).Find(&rows).Error; err != nil {
			return fmt.Errorf("budget: read reservations: %w", err)
		}
		for _, r := range rows {
			current[r.ID] = r
		}
	}
	var (
		ledger  []models.BudgetTransaction
		entries []audit.Item
		moves   = map[budgetKey]counterMove{}
	)
	for j, i := range order {
		c := calls[i]
		won := false
		if r, ok := moved[c.id]; ok && (j == 0 || calls[order[j-1]].id != c.id) {
			won, out[i].out.Tokens = true, r.Tokens
			current[c.id] = r
		} else {
			var r models.BudgetReservation
			out[i], won, r, err = s.settleAgain(tx, c, current[c.id], now)
			if err != nil {
				return err
			}
			current[c.id] = r
		}
		if !won {
			continue
		}
		tokens := out[i].out.Tokens
		kind, action, actual := kindRelease, ActionRelease, int64(0)
		details := map[string]any{"tenant_id": c.tenant, "project_id": c.project, "tokens": tokens}
		out[i].out = Settlement{ReservationID: c.id, Status: c.to, Tokens: tokens}
		if c.to == StatusCommitted {
			kind, action, actual = kindCommit, ActionCommit, c.actual
			details["actual_tokens"] = actual
			out[i].out.Tokens = actual
		}
		row := ledgerRow(&c.id, c.tenant, c.project, kind, -tokens, actual, c.actor, now)
		if u := c.usage; u != nil && c.to == StatusCommitted {
			row.Model, row.PromptTokens, row.CompletionTokens, row.CostUSD = &u.Model, &u.PromptTokens, &u.CompletionTokens, &u.CostUSD
		}
		ledger = append(ledger, row)
		if c.also != nil {
			if err := c.also(tx); err != nil {
				return fmt.Errorf("budget: in the transaction of reservation %s: %w", c.id, err)
			}
		}
		entries = append(entries, audit.Item{Actor: c.actor, Entry: audit.Entry{
			Action: action, ResourceType: resourceReservation, ResourceID: c.id, Details: details,
		}})
		k := budgetKey{c.tenant, c.project}
		moves[k] = counterMove{reserved: moves[k].reserved - tokens, used: moves[k].used + actual}
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
	// Last, so the budget rows stay locked only until the commit.
	return s.moveCounters(tx, moves, false, now)
}

// settleAgain answers a call on a reservation that settleSQL did not move
// for it: r is the reservation as it is now (zero when there is none). It
// decides as a call alone would: not found, a commit above the cap, the
// conditional status change when the reservation is still pending (an
// earlier call of the batch on it was refused), else a replay of the same
// settlement or a conflict. won reports that this call moved it; then
// res.out.Tokens is the reservation's tokens. next is the reservation after
// the call.
func (s *Service) settleAgain(tx *gorm.DB, c settleCall, r models.BudgetReservation, now time.Time) (res outcome[Settlement], won bool, next models.BudgetReservation, err error) {
	if r.ID == "" || r.TenantID != c.tenant || r.ProjectID != c.project {
		return outcome[Settlement]{err: notFound()}, false, r, nil
	}
	if c.to == StatusCommitted {
		if capped := s.maxActual(r.Tokens); c.actual > capped {
			return outcome[Settlement]{err: overCap(r.Tokens, capped, s.commitRatio)}, false, r, nil
		}
	}
	if Status(r.Status) == StatusPending {
		if won, err = transition(tx, c.id, c.to, c.actual, now); err != nil {
			return res, false, r, err
		}
		if won {
			return outcome[Settlement]{out: Settlement{Tokens: r.Tokens}}, true, settled(r, c.to, c.actual), nil
		}
		// Settled by a concurrent transaction since it was read.
		if err := tx.Where("id = ?", c.id).Take(&r).Error; err != nil {
			return res, false, r, fmt.Errorf("budget: re-read reservation: %w", err)
		}
	}
	out, err := alreadySettled(r, c.to, c.actual)
	return outcome[Settlement]{out: out, err: err}, false, r, nil
}

// settled is r after a call moved it to `to`.
func settled(r models.BudgetReservation, to Status, actual int64) models.BudgetReservation {
	r.Status = string(to)
	if to == StatusCommitted {
		r.ActualTokens = &actual
	}
	return r
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

// transitionAll is the conditional status change of every tried call in one
// statement: it moves each reservation that is still pending, belongs to the
// call's tenant/project and, for a commit, is within the cap, and returns the
// moved ones as they are now. On PostgreSQL the batch's reservations are
// locked first in id order (the materialised CTE; the UPDATE changes only
// rows it has returned), so two batches never wait for each other's
// reservations in opposite orders; SQLite has one writer.
func (s *Service) transitionAll(tx *gorm.DB, tried []settleCall, now time.Time) (map[string]models.BudgetReservation, error) {
	ids := make([]string, len(tried))
	var values strings.Builder
	args := []any{now}
	for i, c := range tried {
		ids[i] = c.id
		if i > 0 {
			values.WriteString(", ")
		}
		values.WriteString(s.valuesRow)
		var actual *int64
		if c.to == StatusCommitted {
			actual = &c.actual
		}
		args = append(args, c.id, c.tenant, c.project, string(c.to), actual)
	}
	// The id list again in the UPDATE's own condition, so the planner finds
	// the reservations by their primary key rather than by a join.
	args = append(args, ids, s.commitRatio)
	var q string
	if s.pg {
		args = append([]any{ids}, args...)
		// #nosec G202 -- only placeholders are concatenated; the values are bound.
		q = `WITH locked AS MATERIALIZED (SELECT id FROM budget_reservations WHERE id IN ? ORDER BY id FOR UPDATE)
UPDATE budget_reservations r SET status = v.status, actual_tokens = v.actual, settled_at = ?
FROM locked l, (VALUES ` + values.String() + `) AS v(id, tenant_id, project_id, status, actual)
WHERE r.id = l.id AND v.id = l.id AND r.tenant_id = v.tenant_id AND r.project_id = v.project_id
  AND r.id IN ? AND r.status = 'pending'
  AND (v.status <> 'committed' OR v.actual <= GREATEST(r.tokens, FLOOR(r.tokens * ?::float8)))
RETURNING r.id, r.tokens`
	} else {
		// #nosec G202 -- only placeholders are concatenated; the values are bound.
		q = `UPDATE budget_reservations AS r SET status = v.status, actual_tokens = v.actual, settled_at = ?
FROM (SELECT column1 AS id, column2 AS tenant_id, column3 AS project_id, column4 AS status, column5 AS actual
  FROM (VALUES ` + values.String() + `)) AS v
WHERE r.id = v.id AND r.tenant_id = v.tenant_id AND r.project_id = v.project_id
  AND r.id IN ? AND r.status = 'pending'
  AND (v.status <> 'committed' OR v.actual <= MAX(r.tokens, CAST(r.tokens * ? AS INTEGER)))
RETURNING id, tokens`
	}
	var rows []struct {
		ID     string `gorm:"column:id"`
		Tokens int64  `gorm:"column:tokens"`
	}
	if err := tx.Raw(q, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("budget: settle reservations: %w", err)
	}
	byID := make(map[string]settleCall, len(tried))
	for _, c := range tried {
		byID[c.id] = c
	}
	moved := make(map[string]models.BudgetReservation, len(rows))
	for _, r := range rows {
		c := byID[r.ID]
		moved[r.ID] = settled(models.BudgetReservation{
			ID: r.ID, TenantID: c.tenant, ProjectID: c.project, Tokens: r.Tokens, Status: string(StatusPending),
		}, c.to, c.actual)
	}
	return moved, nil
}
