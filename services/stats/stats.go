// Package stats answers "how is the platform doing right now" from the
// database: the counts an operator looks at first (unresolved dead letters,
// open budget reservations, accounts, recent audited actions), for the whole
// platform or for one tenant. The counts come
// from the tables every replica shares, so all replicas give the same answer,
// unlike the per-process Prometheus counters.
package stats

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// AuditWindow is how far back audit entries are counted.
const AuditWindow = 24 * time.Hour

// Counts is one snapshot of the platform's counts, or of one tenant's.
type Counts struct {
	// TenantID is the tenant counted; "" for the whole platform.
	TenantID string
	// DLQUnresolved is the number of dead-lettered messages nobody resolved
	// yet; nil for a tenant (dead letters are platform-level).
	DLQUnresolved *int64
	// BudgetPendingReservations is the number of reservations neither
	// committed, released nor expired.
	BudgetPendingReservations int64
	// Users is the number of accounts (disabled ones included).
	Users int64
	// AuditEntries24h is the number of audit entries of the last
	// AuditWindow; nil for a tenant (the audit trail is platform-level).
	AuditEntries24h *int64
	// GeneratedAt is when the counts were taken (UTC).
	GeneratedAt time.Time
}

// Service counts rows with plain SQL that both PostgreSQL and SQLite run.
type Service struct {
	db  *gorm.DB
	now func() time.Time
}

// New returns a stats service on db.
func New(db *gorm.DB) *Service {
	return &Service{db: db, now: func() time.Time { return time.Now().UTC() }}
}

// countsQuery takes every count in one statement, so they come from one
// snapshot and one round trip. Each count uses an index of its table:
// dlq_messages_unresolved_idx (WHERE NOT resolved), budget_reservations_sweep_idx
// (status, expires_at), audit_log_created_at_id_idx.
const countsQuery = `SELECT
	(SELECT count(*) FROM dlq_messages WHERE NOT resolved) AS dlq_unresolved,
	(SELECT count(*) FROM budget_reservations WHERE status = 'pending') AS budget_pending_reservations,
	(SELECT count(*) FROM users) AS users,
	(SELECT count(*) FROM audit_log WHERE created_at >= ?) AS audit_entries24h`

// tenantCountsQuery takes the counts of one tenant's data in one statement:
// its pending reservations (budget_reservations_pending_idx is on
// (tenant_id, project_id) WHERE pending) and its accounts (users_tenant_idx).
const tenantCountsQuery = `SELECT
	(SELECT count(*) FROM budget_reservations WHERE status = 'pending' AND tenant_id = ?) AS budget_pending_reservations,
	(SELECT count(*) FROM users WHERE tenant_id = ?) AS users`

// Counts takes the counts now: of the whole platform when tenant is "", of
// one tenant's data otherwise (a tenant-bound caller sees no other tenant's
// numbers, nor the platform-level ones).
func (s *Service) Counts(ctx context.Context, tenant string) (Counts, error) {
	now := s.now()
	var row struct {
		DLQUnresolved             int64 `gorm:"column:dlq_unresolved"`
		BudgetPendingReservations int64 `gorm:"column:budget_pending_reservations"`
		Users                     int64 `gorm:"column:users"`
		AuditEntries24h           int64 `gorm:"column:audit_entries24h"`
	}
	if tenant != "" {
		if err := s.db.WithContext(ctx).Raw(tenantCountsQuery, tenant, tenant).Scan(&row).Error; err != nil {
			return Counts{}, fmt.Errorf("count stats of tenant %s: %w", tenant, err)
		}
		return Counts{TenantID: tenant, BudgetPendingReservations: row.BudgetPendingReservations, Users: row.Users, GeneratedAt: now}, nil
	}
	if err := s.db.WithContext(ctx).Raw(countsQuery, now.Add(-AuditWindow)).Scan(&row).Error; err != nil {
		return Counts{}, fmt.Errorf("count stats: %w", err)
	}
	return Counts{
		DLQUnresolved:             &row.DLQUnresolved,
		BudgetPendingReservations: row.BudgetPendingReservations,
		Users:                     row.Users,
		AuditEntries24h:           &row.AuditEntries24h,
		GeneratedAt:               now,
	}, nil
}
