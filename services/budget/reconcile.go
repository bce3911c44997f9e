package budget

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// Mismatch is a budget whose stored counters disagree with its ledger or with
// its reservations. Reconcile returning none is the invariant of DESIGN §5.
type Mismatch struct {
	TenantID  string
	ProjectID string
	// The stored counters of budget_limits.
	Used, Reserved int64
	// The sums of the ledger's deltas.
	LedgerUsed, LedgerReserved int64
	// The committed actual tokens and the pending tokens of the reservations.
	ReservationsUsed, ReservationsReserved int64
}

func (m Mismatch) String() string {
	return fmt.Sprintf("%s/%s: stored used=%d reserved=%d, ledger used=%d reserved=%d, reservations used=%d reserved=%d",
		m.TenantID, m.ProjectID, m.Used, m.Reserved, m.LedgerUsed, m.LedgerReserved, m.ReservationsUsed, m.ReservationsReserved)
}

// budgetKey names a tenant/project budget.
type budgetKey struct{ tenant, project string }

type sums struct {
	TenantID  string `gorm:"column:tenant_id"`
	ProjectID string `gorm:"column:project_id"`
	Used      int64  `gorm:"column:used"`
	Reserved  int64  `gorm:"column:reserved"`
}

// Reconcile recomputes used and reserved of every budget from the ledger
// (the sum of its deltas) and from the reservations (committed actual tokens,
// pending tokens) and returns the budgets where either disagrees with
// budget_limits. It reads one snapshot (REPEATABLE READ on PostgreSQL; SQLite
// transactions are serialisable), so it is exact while traffic flows.
func Reconcile(ctx context.Context, db *gorm.DB) ([]Mismatch, error) {
	var opts *sql.TxOptions
	if db.Name() == "postgres" {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	var stored, ledger, reservations []sums
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, q := range []struct {
			dst *[]sums
			sql string
		}{
			{&stored, `SELECT tenant_id, project_id, used, reserved FROM budget_limits`},
			{&ledger, `SELECT tenant_id, project_id, CAST(COALESCE(SUM(delta_used), 0) AS BIGINT) AS used,
				CAST(COALESCE(SUM(delta_reserved), 0) AS BIGINT) AS reserved FROM budget_transactions GROUP BY tenant_id, project_id`},
			{&reservations, `SELECT tenant_id, project_id,
				CAST(COALESCE(SUM(CASE WHEN status = 'committed' THEN actual_tokens ELSE 0 END), 0) AS BIGINT) AS used,
				CAST(COALESCE(SUM(CASE WHEN status = 'pending' THEN tokens ELSE 0 END), 0) AS BIGINT) AS reserved
				FROM budget_reservations GROUP BY tenant_id, project_id`},
		} {
			if err := tx.Raw(q.sql).Scan(q.dst).Error; err != nil {
				return err
			}
		}
		return nil
	}, opts)
	if err != nil {
		return nil, fmt.Errorf("budget: reconcile: %w", err)
	}
	all := map[budgetKey]*Mismatch{}
	get := func(s sums) *Mismatch {
		k := budgetKey{s.TenantID, s.ProjectID}
		if all[k] == nil {
			all[k] = &Mismatch{TenantID: s.TenantID, ProjectID: s.ProjectID}
		}
		return all[k]
	}
	for _, s := range stored {
		m := get(s)
		m.Used, m.Reserved = s.Used, s.Reserved
	}
	for _, s := range ledger {
		m := get(s)
		m.LedgerUsed, m.LedgerReserved = s.Used, s.Reserved
	}
	for _, s := range reservations {
		m := get(s)
		m.ReservationsUsed, m.ReservationsReserved = s.Used, s.Reserved
	}
	var out []Mismatch
	for _, m := range all {
		if m.Used != m.LedgerUsed || m.Used != m.ReservationsUsed ||
			m.Reserved != m.LedgerReserved || m.Reserved != m.ReservationsReserved {
			out = append(out, *m)
		}
	}
	slices.SortFunc(out, func(a, b Mismatch) int {
		return strings.Compare(a.TenantID+"\x00"+a.ProjectID, b.TenantID+"\x00"+b.ProjectID)
	})
	return out, nil
}
