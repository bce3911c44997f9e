package budget

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
)

// The statements a batch runs on several budgets at once. Every batch locks
// budget rows in (tenant, project) order, so two batches (of this replica or
// of two) never hold one budget each while waiting for the other's.

// errBudgetCreated rolls back a batch that found a budget missing and then
// saw a concurrent transaction create it: the batch runs again and locks it
// in order with the others.
var errBudgetCreated = errors.New("budget: a concurrent transaction created a budget of the batch")

// sortedKeys returns the distinct keys in (tenant, project) order.
func sortedKeys[V any](m map[budgetKey]V) []budgetKey {
	keys := make([]budgetKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	return keys
}

func compareKeys(a, b budgetKey) int {
	return cmp.Or(strings.Compare(a.tenant, b.tenant), strings.Compare(a.project, b.project))
}

// keysWhere is the condition that selects the budgets of keys, and its
// arguments.
func keysWhere(keys []budgetKey) (string, []any) {
	if len(keys) == 1 {
		return "tenant_id = ? AND project_id = ?", []any{keys[0].tenant, keys[0].project}
	}
	var b strings.Builder
	args := make([]any, 0, 2*len(keys))
	b.WriteString("(tenant_id, project_id) IN (")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?)")
		args = append(args, k.tenant, k.project)
	}
	b.WriteString(")")
	return b.String(), args
}

// lockBudgets reads the existing budgets of keys (sorted) and locks them
// until the transaction ends, in that order (PostgreSQL: FOR UPDATE after the
// ORDER BY, which locks the rows as they are returned; SQLite has one writer).
func (s *Service) lockBudgets(tx *gorm.DB, keys []budgetKey) (map[budgetKey]models.BudgetLimit, error) {
	where, args := keysWhere(keys)
	// #nosec G202 -- keysWhere concatenates only placeholders; the values are bound.
	q := `SELECT tenant_id, project_id, total_limit, used, reserved, updated_at FROM budget_limits WHERE ` + where +
		` ORDER BY tenant_id, project_id`
	if s.pg {
		q += " FOR UPDATE"
	}
	var rows []models.BudgetLimit
	if err := tx.Raw(q, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("budget: lock budgets: %w", err)
	}
	out := make(map[budgetKey]models.BudgetLimit, len(rows))
	for _, r := range rows {
		out[budgetKey{r.TenantID, r.ProjectID}] = r
	}
	return out, nil
}

// createBudgets creates budgets seen for the first time with the default
// limit, their tenants first (as SetLimit does), both in sorted order. actors
// names who caused each one, for the tenant's audit entry. A budget that a
// concurrent transaction created meanwhile is errBudgetCreated.
func (s *Service) createBudgets(ctx context.Context, tx *gorm.DB, keys []budgetKey, actors map[budgetKey]audit.Actor, now time.Time) error {
	if len(keys) == 0 {
		return nil
	}
	rows := make([]models.BudgetLimit, len(keys))
	for i, k := range keys {
		if i == 0 || k.tenant != keys[i-1].tenant {
			if err := s.tenants.Ensure(ctx, tx, actors[k], k.tenant); err != nil {
				return err
			}
		}
		rows[i] = models.BudgetLimit{TenantID: k.tenant, ProjectID: k.project, TotalLimit: s.defaultLimit, UpdatedAt: now}
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows)
	if res.Error != nil {
		return fmt.Errorf("budget: create default limits: %w", res.Error)
	}
	if res.RowsAffected != int64(len(rows)) {
		return errBudgetCreated
	}
	return nil
}

// counterMove is what a batch adds to one budget's counters.
type counterMove struct{ reserved, used int64 }

// moveCounters applies the batch's sums to the locked budgets, in one
// statement on PostgreSQL (UPDATE … FROM (VALUES …)); SQLite loops. For a
// reserve batch (reserve) the statement repeats the batch's decision as its
// condition, so reserved can never pass total_limit - used: a budget that
// does not match fails the transaction.
func (s *Service) moveCounters(tx *gorm.DB, moves map[budgetKey]counterMove, reserve bool, now time.Time) error {
	keys := sortedKeys(moves)
	if len(keys) == 0 {
		return nil
	}
	if len(keys) == 1 || !s.pg {
		for _, k := range keys {
			m := moves[k]
			var err error
			if reserve {
				err = moveToReserved(tx, k.tenant, k.project, m.reserved, now)
			} else {
				err = moveFromReserved(tx, k.tenant, k.project, -m.reserved, m.used, now)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	var values strings.Builder
	args := []any{now}
	for i, k := range keys {
		if i > 0 {
			values.WriteString(", ")
		}
		values.WriteString("(?::text, ?::text, ?::bigint, ?::bigint)")
		args = append(args, k.tenant, k.project, moves[k].reserved, moves[k].used)
	}
	cond := ""
	if reserve {
		cond = " AND b.total_limit - b.used - b.reserved >= v.reserved"
	}
	// The rows are locked first, in key order, by the materialised CTE: the
	// UPDATE changes only rows it has returned (and so locked). A reserve
	// batch holds them already, from lockBudgets.
	where, lockArgs := keysWhere(keys)
	// #nosec G202 -- only placeholders and fixed conditions are concatenated; the values are bound.
	q := `WITH locked AS MATERIALIZED (SELECT tenant_id, project_id FROM budget_limits WHERE ` + where + `
  ORDER BY tenant_id, project_id FOR UPDATE)
UPDATE budget_limits b SET reserved = b.reserved + v.reserved, used = b.used + v.used, updated_at = ?
FROM locked l, (VALUES ` + values.String() + `) AS v(tenant_id, project_id, reserved, used)
WHERE b.tenant_id = l.tenant_id AND b.project_id = l.project_id
  AND v.tenant_id = l.tenant_id AND v.project_id = l.project_id` + cond
	res := tx.Exec(q, append(lockArgs, args...)...)
	if res.Error != nil {
		return fmt.Errorf("budget: move counters: %w", res.Error)
	}
	if res.RowsAffected != int64(len(keys)) {
		return fmt.Errorf("budget: move counters: %d of %d locked budgets matched", res.RowsAffected, len(keys))
	}
	return nil
}
