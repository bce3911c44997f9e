package budget

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
)

// sweepBatch bounds how many due reservations one transaction of Expire
// settles. A batch locks its reservations and then, for the few
// milliseconds until its commit, the budget rows they belong to; a bounded
// batch keeps that hold short however many reservations are due (100 000
// take 200 batches, not one long transaction).
const sweepBatch = 500

// ActionExpire is the audit action of a reservation the sweeper expired.
const ActionExpire = "budget.expire"

// sweeper is the actor of expiries in the ledger and the audit log.
var sweeper = audit.Actor{PrincipalID: sweeperActor, Username: sweeperActor}

// Expire returns every pending reservation whose expires_at has passed to
// its budget and marks it expired, in batches of at most sweepBatch, each one
// transaction with its ledger rows and audit entries. Every replica may run
// it at the same time: a batch locks its reservations (PostgreSQL: FOR
// UPDATE SKIP LOCKED, so sweepers and settlements never wait for each other
// on a reservation; SQLite has one writer) and the conditional status change
// lets exactly one of them (or a concurrent commit or release) settle each
// reservation. It reports how many this call expired.
func (s *Service) Expire(ctx context.Context) (int, error) {
	now := s.now()
	expired := 0
	for {
		n, more, err := s.expireBatch(ctx, now, sweepBatch)
		expired += n
		if err != nil || !more {
			return expired, err
		}
	}
}

// due is a pending reservation past its expires_at, as a sweep batch locks it.
type due struct {
	ID        string `gorm:"column:id"`
	TenantID  string `gorm:"column:tenant_id"`
	ProjectID string `gorm:"column:project_id"`
	Tokens    int64  `gorm:"column:tokens"`
}

// dueSQL picks the batch: the limit oldest due reservations (by the sweep
// index on status, expires_at), locked in (tenant, project, id) order. The
// outer status condition is evaluated again on a row that changed since the
// snapshot, so a reservation settled meanwhile is not taken.
const dueSQL = `SELECT id, tenant_id, project_id, tokens FROM budget_reservations
WHERE id IN (SELECT id FROM budget_reservations WHERE status = 'pending' AND expires_at <= ? ORDER BY expires_at LIMIT ?)
  AND status = 'pending'
ORDER BY tenant_id, project_id, id`

// expireBatch expires up to limit due reservations in one transaction:
// the reservations' status, one ledger row and one audit entry each, and
// the counters of their budgets, locked last in (tenant, project) order so
// two sweepers never wait for each other in opposite orders. more reports
// that the batch was full, so further reservations may be due.
func (s *Service) expireBatch(ctx context.Context, now time.Time, limit int) (expired int, more bool, err error) {
	pg := s.db.Name() == "postgres"
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := dueSQL
		if pg {
			// Rows a settlement or another sweeper holds are theirs to
			// decide; waiting for them would only serialise the replicas.
			q += " FOR UPDATE SKIP LOCKED"
		}
		var rows []due
		if err := tx.Raw(q, now, limit).Scan(&rows).Error; err != nil {
			return fmt.Errorf("budget: find expired reservations: %w", err)
		}
		// A full batch may leave more due. On PostgreSQL a short one may
		// have skipped rows others held; the next batch looks again and
		// ends the call when it finds none to take.
		more = len(rows) == limit || (pg && len(rows) > 0)
		if len(rows) == 0 {
			return nil
		}
		ids := make([]string, len(rows))
		ledger := make([]models.BudgetTransaction, len(rows))
		entries := make([]audit.Item, len(rows))
		perBudget := map[budgetKey]int64{}
		for i, r := range rows {
			ids[i] = r.ID
			id := r.ID
			ledger[i] = ledgerRow(&id, r.TenantID, r.ProjectID, kindExpire, -r.Tokens, 0, sweeper, now)
			actor := sweeper
			actor.TenantID = r.TenantID
			entries[i] = audit.Item{Actor: actor, Entry: audit.Entry{
				Action: ActionExpire, ResourceType: resourceReservation, ResourceID: r.ID,
				Details: map[string]any{"tenant_id": r.TenantID, "project_id": r.ProjectID, "tokens": r.Tokens},
			}}
			perBudget[budgetKey{r.TenantID, r.ProjectID}] += r.Tokens
		}
		res := tx.Exec(`UPDATE budget_reservations SET status = ?, settled_at = ? WHERE id IN ? AND status = ?`,
			string(StatusExpired), now, ids, string(StatusPending))
		if res.Error != nil {
			return fmt.Errorf("budget: expire reservations: %w", res.Error)
		}
		if res.RowsAffected != int64(len(ids)) {
			// The rows are locked by this transaction (or the database has
			// one writer), so this is a bug, not a race.
			return fmt.Errorf("budget: expire reservations: %d of %d locked reservations changed", res.RowsAffected, len(ids))
		}
		if err := writeLedger(tx, ledger...); err != nil {
			return err
		}
		if err := s.audit.RecordAll(ctx, tx, entries); err != nil {
			return err
		}
		expired = len(rows)
		return s.returnToBudgets(tx, pg, perBudget, now)
	})
	if err != nil {
		return 0, false, err
	}
	s.metrics.expired.Add(float64(expired))
	return expired, more, nil
}

// returnToBudgets moves the expired tokens out of reserved, one budget at a
// time in (tenant, project) order. On PostgreSQL the rows are locked first in
// that order by one statement and then updated by one statement.
func (s *Service) returnToBudgets(tx *gorm.DB, pg bool, perBudget map[budgetKey]int64, now time.Time) error {
	keys := make([]budgetKey, 0, len(perBudget))
	for k := range perBudget {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b budgetKey) int {
		return cmp.Or(strings.Compare(a.tenant, b.tenant), strings.Compare(a.project, b.project))
	})
	if !pg {
		for _, k := range keys {
			if err := moveFromReserved(tx, k.tenant, k.project, perBudget[k], 0, now); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		pairs  strings.Builder
		values strings.Builder
		lock   []any
		update []any
	)
	for i, k := range keys {
		if i > 0 {
			pairs.WriteString(", ")
			values.WriteString(", ")
		}
		pairs.WriteString("(?, ?)")
		values.WriteString("(?::text, ?::text, ?::bigint)")
		lock = append(lock, k.tenant, k.project)
		update = append(update, k.tenant, k.project, perBudget[k])
	}
	var locked []budgetKeyRow
	// #nosec G202 -- only "(?, ?)" placeholders are concatenated; the values are bound.
	err := tx.Raw(`SELECT tenant_id, project_id FROM budget_limits WHERE (tenant_id, project_id) IN (`+pairs.String()+`)
ORDER BY tenant_id, project_id FOR UPDATE`, lock...).Scan(&locked).Error
	if err != nil {
		return fmt.Errorf("budget: lock expired reservations' budgets: %w", err)
	}
	// #nosec G202 -- only placeholders are concatenated; the values are bound.
	res := tx.Exec(`UPDATE budget_limits b SET reserved = b.reserved - v.tokens, updated_at = ?
FROM (VALUES `+values.String()+`) AS v(tenant_id, project_id, tokens)
WHERE b.tenant_id = v.tenant_id AND b.project_id = v.project_id`, append([]any{now}, update...)...)
	if res.Error != nil {
		return fmt.Errorf("budget: return expired tokens: %w", res.Error)
	}
	if res.RowsAffected != int64(len(keys)) {
		return fmt.Errorf("budget: return expired tokens: %d of %d budgets updated", res.RowsAffected, len(keys))
	}
	return nil
}

type budgetKeyRow struct {
	TenantID  string `gorm:"column:tenant_id"`
	ProjectID string `gorm:"column:project_id"`
}

// Sweeper is the background worker that runs Expire every interval until ctx
// ends. Failures are logged and retried at the next tick.
func (s *Service) Sweeper(interval time.Duration, log *slog.Logger) func(ctx context.Context) {
	return func(ctx context.Context) {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
			n, err := s.Expire(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				log.WarnContext(ctx, "budget sweeper", slog.Any("error", err), slog.Int("expired", n))
			case n > 0:
				log.InfoContext(ctx, "budget reservations expired", slog.Int("count", n))
			}
		}
	}
}
