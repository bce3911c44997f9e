// Package stats answers "how is the platform doing right now" from the
// database: the counts an operator looks at first (unresolved dead letters,
// open budget reservations, accounts, recent audited actions, tasks by
// state, open escalations by pattern, agents by status, learned prompts
// waiting for a human, open peer reviews), for the whole
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
	// TasksByState counts the tasks (deleted ones aside) by state; every
	// state is present, 0 when no task is in it.
	TasksByState map[string]int64
	// OpenEscalationsByPattern counts the unresolved escalations by
	// pattern type; every pattern is present.
	OpenEscalationsByPattern map[string]int64
	// AgentsByStatus counts the agents by status; every status is present.
	AgentsByStatus map[string]int64
	// PendingProposals is the number of learned prompts waiting for a
	// human's approval (approval_status pending_review).
	PendingProposals int64
	// OpenReviews is the number of peer review sessions not yet decided.
	OpenReviews int64
	// GeneratedAt is when the counts were taken (UTC).
	GeneratedAt time.Time
}

// The keys of the work counts, so that a count of zero is still reported.
var (
	taskStates    = []string{"pending", "running", "review", "completed", "escalated", "failed", "cancelled"}
	patternTypes  = []string{"skill_gap", "agent_conflict", "process_issue"}
	agentStatuses = []string{"active", "paused", "retired"}
)

// groupCounts are the GROUP BY counts of the work resources; each uses an
// index that starts with the tenant (tasks_tenant_state_idx,
// escalations_open_pattern_idx, agents' primary key).
var groupCounts = []struct {
	table, column, where string
	keys                 []string
	set                  func(*Counts, map[string]int64)
}{
	{"tasks", "state", "deleted_at IS NULL", taskStates, func(c *Counts, m map[string]int64) { c.TasksByState = m }},
	{"escalations", "pattern_type", "resolved_at IS NULL", patternTypes, func(c *Counts, m map[string]int64) { c.OpenEscalationsByPattern = m }},
	{"agents", "status", "1 = 1", agentStatuses, func(c *Counts, m map[string]int64) { c.AgentsByStatus = m }},
}

// workCounts adds the counts of tasks, open escalations and agents, of one
// tenant or (tenant "") of all, to c.
func (s *Service) workCounts(ctx context.Context, tenant string, c *Counts) error {
	for _, g := range groupCounts {
		q := s.db.WithContext(ctx).Table(g.table).Select(g.column + " AS k, count(*) AS n").Where(g.where).Group(g.column)
		if tenant != "" {
			q = q.Where("tenant_id = ?", tenant)
		}
		var rows []struct {
			K string `gorm:"column:k"`
			N int64  `gorm:"column:n"`
		}
		if err := q.Scan(&rows).Error; err != nil {
			return fmt.Errorf("count %s by %s: %w", g.table, g.column, err)
		}
		m := make(map[string]int64, len(g.keys))
		for _, k := range g.keys {
			m[k] = 0
		}
		for _, r := range rows {
			m[r.K] = r.N
		}
		g.set(c, m)
	}
	return nil
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
// (status, expires_at), audit_log_created_at_id_idx, agent_prompts_pending_idx
// and reviews_open_tenant_idx (both partial).
const countsQuery = `SELECT
	(SELECT count(*) FROM dlq_messages WHERE NOT resolved) AS dlq_unresolved,
	(SELECT count(*) FROM budget_reservations WHERE status = 'pending') AS budget_pending_reservations,
	(SELECT count(*) FROM users) AS users,
	(SELECT count(*) FROM audit_log WHERE created_at >= ?) AS audit_entries24h,
	(SELECT count(*) FROM agent_prompts WHERE approval_status = 'pending_review') AS pending_proposals,
	(SELECT count(*) FROM reviews WHERE status = 'open') AS open_reviews`

// tenantCountsQuery takes the counts of one tenant's data in one statement:
// its pending reservations (budget_reservations_pending_idx is on
// (tenant_id, project_id) WHERE pending), its accounts (users_tenant_idx),
// its pending proposals and its open reviews (the partial indexes above,
// which start with the tenant).
const tenantCountsQuery = `SELECT
	(SELECT count(*) FROM budget_reservations WHERE status = 'pending' AND tenant_id = ?) AS budget_pending_reservations,
	(SELECT count(*) FROM users WHERE tenant_id = ?) AS users,
	(SELECT count(*) FROM agent_prompts WHERE approval_status = 'pending_review' AND tenant_id = ?) AS pending_proposals,
	(SELECT count(*) FROM reviews WHERE status = 'open' AND tenant_id = ?) AS open_reviews`

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
		PendingProposals          int64 `gorm:"column:pending_proposals"`
		OpenReviews               int64 `gorm:"column:open_reviews"`
	}
	if tenant != "" {
		if err := s.db.WithContext(ctx).Raw(tenantCountsQuery, tenant, tenant, tenant, tenant).Scan(&row).Error; err != nil {
			return Counts{}, fmt.Errorf("count stats of tenant %s: %w", tenant, err)
		}
		c := Counts{
			TenantID: tenant, BudgetPendingReservations: row.BudgetPendingReservations, Users: row.Users,
			PendingProposals: row.PendingProposals, OpenReviews: row.OpenReviews, GeneratedAt: now,
		}
		if err := s.workCounts(ctx, tenant, &c); err != nil {
			return Counts{}, err
		}
		return c, nil
	}
	if err := s.db.WithContext(ctx).Raw(countsQuery, now.Add(-AuditWindow)).Scan(&row).Error; err != nil {
		return Counts{}, fmt.Errorf("count stats: %w", err)
	}
	c := Counts{
		DLQUnresolved:             &row.DLQUnresolved,
		BudgetPendingReservations: row.BudgetPendingReservations,
		Users:                     row.Users,
		AuditEntries24h:           &row.AuditEntries24h,
		PendingProposals:          row.PendingProposals,
		OpenReviews:               row.OpenReviews,
		GeneratedAt:               now,
	}
	if err := s.workCounts(ctx, "", &c); err != nil {
		return Counts{}, err
	}
	return c, nil
}
