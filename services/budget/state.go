package budget

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
)

// State is the picture of one budget.
type State struct {
	TenantID  string
	ProjectID string
	Total     int64
	Used      int64
	Reserved  int64
	// Available is what a new request may reserve: total - used - reserved,
	// never below 0.
	Available int64
	// Overdrawn is how far used + reserved exceed the total: non-zero after a
	// commit used more than its estimate or the limit was lowered.
	Overdrawn           int64
	PendingReservations int64
}

func stateOf(l models.BudgetLimit, pending int64) State {
	return State{
		TenantID: l.TenantID, ProjectID: l.ProjectID, Total: l.TotalLimit, Used: l.Used, Reserved: l.Reserved,
		Available: available(l), Overdrawn: overdrawn(l), PendingReservations: pending,
	}
}

// stateSQL reads the counters and the pending count in one statement, so the
// two agree (one snapshot).
const stateSQL = `SELECT l.tenant_id, l.project_id, l.total_limit, l.used, l.reserved, l.updated_at,
  (SELECT count(*) FROM budget_reservations r
    WHERE r.tenant_id = l.tenant_id AND r.project_id = l.project_id AND r.status = 'pending') AS pending
FROM budget_limits l WHERE l.tenant_id = ? AND l.project_id = ?`

// State reports a budget. A budget never seen reports the default limit with
// zero usage and is not created.
func (s *Service) State(ctx context.Context, tenant, project string) (State, error) {
	var f fieldErrors
	f.id("tenant_id", tenant)
	f.id("project_id", project)
	if err := f.err(); err != nil {
		return State{}, err
	}
	return s.state(s.db.WithContext(ctx), tenant, project)
}

func (s *Service) state(db *gorm.DB, tenant, project string) (State, error) {
	var row struct {
		models.BudgetLimit
		Pending int64 `gorm:"column:pending"`
	}
	res := db.Raw(stateSQL, tenant, project).Scan(&row)
	if res.Error != nil {
		return State{}, fmt.Errorf("budget: read state: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return stateOf(models.BudgetLimit{TenantID: tenant, ProjectID: project, TotalLimit: s.defaultLimit}, 0), nil
	}
	return stateOf(row.BudgetLimit, row.Pending), nil
}

// SetLimit creates a budget with total as its limit (and its tenant, when
// that is new too) or changes the limit of an existing one. Lowering it below used + reserved is allowed: pending
// reservations stay valid, new requests are refused until enough is
// committed or released, and State reports the excess as Overdrawn. The
// change is a limit_set ledger row (zero deltas) and a budget.limit_set audit
// entry with the old and new totals.
func (s *Service) SetLimit(ctx context.Context, actor audit.Actor, tenant, project string, total int64) (State, error) {
	var f fieldErrors
	f.id("tenant_id", tenant)
	f.id("project_id", project)
	if total < 0 || total > MaxLimit {
		f.add("total_limit", fmt.Sprintf("must be a whole number from 0 to %d", int64(MaxLimit)))
	}
	if err := f.err(); err != nil {
		return State{}, err
	}
	now := s.now()
	var out State
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		details := map[string]any{"tenant_id": tenant, "project_id": project, "total_limit": total}
		// The tenant first, as createBudgets does: two transactions creating
		// the same new budget and tenant then wait in the same order, never
		// for each other.
		if err := s.tenants.Ensure(ctx, tx, actor, tenant); err != nil {
			return err
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&models.BudgetLimit{
			TenantID: tenant, ProjectID: project, TotalLimit: total, UpdatedAt: now,
		})
		if res.Error != nil {
			return fmt.Errorf("budget: create limit: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			details["created"] = true
			details["old_total_limit"] = nil
		} else {
			var cur models.BudgetLimit
			// FOR NO KEY UPDATE: it does not wait for (nor deadlock with) the
			// key-share locks that inserting reservations takes on this row.
			err := tx.Clauses(clause.Locking{Strength: "NO KEY UPDATE"}).
				Where("tenant_id = ? AND project_id = ?", tenant, project).Take(&cur).Error
			if err != nil {
				return fmt.Errorf("budget: read limit: %w", err)
			}
			err = tx.Exec(`UPDATE budget_limits SET total_limit = ?, updated_at = ? WHERE tenant_id = ? AND project_id = ?`,
				total, now, tenant, project).Error
			if err != nil {
				return fmt.Errorf("budget: set limit: %w", err)
			}
			details["created"] = false
			details["old_total_limit"] = cur.TotalLimit
			details["used"], details["reserved"] = cur.Used, cur.Reserved
		}
		if err := writeLedger(tx, ledgerRow(nil, tenant, project, kindLimitSet, 0, 0, actor, now)); err != nil {
			return err
		}
		if err := s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionLimitSet, ResourceType: resourceBudget, ResourceID: tenant + "/" + project, Details: details,
		}}}); err != nil {
			return err
		}
		var err error
		out, err = s.state(tx, tenant, project)
		return err
	})
	if err != nil {
		return State{}, err
	}
	return out, nil
}
