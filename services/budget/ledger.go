package budget

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
)

// Resource types named in audit entries.
const (
	resourceReservation = "budget_reservation"
	resourceBudget      = "budget"
)

// ledgerRow is one movement for budget_transactions.
func ledgerRow(reservationID *string, tenant, project, kind string, deltaReserved, deltaUsed int64, actor audit.Actor, at time.Time) models.BudgetTransaction {
	return models.BudgetTransaction{
		ReservationID: reservationID, TenantID: tenant, ProjectID: project, Kind: kind,
		DeltaReserved: deltaReserved, DeltaUsed: deltaUsed, Actor: actor.Name(), RequestID: actor.RequestID, At: at,
	}
}

// writeLedger appends movements to budget_transactions, in one statement,
// inside tx: the transaction that moved the counters.
func writeLedger(tx *gorm.DB, rows ...models.BudgetTransaction) error {
	if err := tx.Create(&rows).Error; err != nil {
		return fmt.Errorf("budget: write ledger %s rows: %w", rows[0].Kind, err)
	}
	return nil
}

// settleSQL moves a settled reservation's tokens out of reserved (and, for a
// commit, the actual tokens into used).
const settleSQL = `UPDATE budget_limits SET reserved = reserved - ?, used = used + ?, updated_at = ?
WHERE tenant_id = ? AND project_id = ?`

func moveFromReserved(tx *gorm.DB, tenant, project string, reserved, used int64, now time.Time) error {
	res := tx.Exec(settleSQL, reserved, used, now, tenant, project)
	if res.Error != nil {
		return fmt.Errorf("budget: settle counters: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("budget: settle counters: no limit row for %s/%s", tenant, project)
	}
	return nil
}

// available is what a new reservation may take. When used passed the total
// (a commit may use more than its estimate) or the limit was lowered below
// used+reserved, it is 0 and the excess is reported as overdrawn.
func available(l models.BudgetLimit) int64 {
	return max(0, l.TotalLimit-l.Used-l.Reserved)
}

func overdrawn(l models.BudgetLimit) int64 {
	return max(0, l.Used+l.Reserved-l.TotalLimit)
}
