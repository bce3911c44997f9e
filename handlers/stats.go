package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/ratelimit"
	"github.com/golden-architecture/control-plane/services/stats"
)

// StatsCounter takes the platform's counts, or one tenant's (services/stats
// implements it).
type StatsCounter interface {
	Counts(ctx context.Context, tenant string) (stats.Counts, error)
}

// Stats serves GET /api/v1/stats.
type Stats struct {
	Counter StatsCounter
	// Tenants scopes the counts: the whole platform, or the caller's tenant.
	Tenants TenantResolver
	Version string
}

// StatsResponse is the answer of GET /api/v1/stats.
type StatsResponse struct {
	Version string `json:"version" example:"1.0.0"`
	// TenantID is the tenant counted (the caller's); null for the whole
	// platform (a platform principal).
	TenantID *string `json:"tenant_id" example:"default" extensions:"x-nullable"`
	// DLQUnresolved is platform-level: null for a caller bound to a tenant.
	DLQUnresolved             *int64 `json:"dlq_unresolved" example:"3" minimum:"0" extensions:"x-nullable"`
	BudgetPendingReservations int64  `json:"budget_pending_reservations" example:"12" minimum:"0"`
	Users                     int64  `json:"users" example:"4" minimum:"0"`
	// AuditEntries24h is platform-level: null for a caller bound to a tenant.
	AuditEntries24h *int64 `json:"audit_entries_24h" example:"57" minimum:"0" extensions:"x-nullable"`
	// TasksByState counts tasks (deleted ones aside) by state; every state is a key.
	TasksByState map[string]int64 `json:"tasks_by_state"`
	// EscalationsOpenByPattern counts unresolved escalations by pattern_type; every pattern is a key.
	EscalationsOpenByPattern map[string]int64 `json:"escalations_open_by_pattern"`
	// AgentsByStatus counts agents by status; every status is a key.
	AgentsByStatus map[string]int64 `json:"agents_by_status"`
	// PendingProposals counts learned prompts waiting for a human (pending_review).
	PendingProposals int64 `json:"pending_proposals" example:"1" minimum:"0"`
	// OpenReviews counts peer review sessions not yet decided.
	OpenReviews int64     `json:"open_reviews" example:"2" minimum:"0"`
	GeneratedAt time.Time `json:"generated_at" example:"2025-01-31T12:00:00Z" format:"date-time"`
} // @name Stats

// Register implements Resource.
func (h *Stats) Register(api *gin.RouterGroup, limits RouteLimiter) {
	api.GET("/stats", middleware.Authenticated(), middleware.Require(auth.PermMetricsView), limits.Scope(ratelimit.ScopeHealth), h.Get)
}

// Get godoc
//
//	@Summary		Platform counts
//	@ID			getStats
//	@Description	Counts taken from the shared database in one statement, so every replica answers the same: unresolved DLQ messages, pending budget reservations, user accounts (disabled ones included), audit entries of the last 24 hours, tasks by state, open escalations by pattern, agents by status, learned prompts pending a human's review and open peer reviews. A platform principal gets the whole platform's counts (tenant_id null); a caller bound to a tenant gets its tenant's reservations, accounts, tasks, escalations, agents, pending proposals and open reviews, and null for the platform-level counts (dead letters, audit entries). Needs metrics.view. Rate limited by RATE_LIMIT_HEALTH (default 60/min) per caller.
//	@Tags			stats
//	@Produce		json
//	@Security		BearerAuth
//	@Success		200		{object}	StatsResponse
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/stats [get]
func (h *Stats) Get(c *gin.Context) {
	tenant, ok := tenantFilterOf(c, h.Tenants, "")
	if !ok {
		return
	}
	counts, err := h.Counter.Counts(c.Request.Context(), tenant)
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, statsResponse(h.Version, counts))
}

// statsResponse converts the service's counts to the response DTO.
func statsResponse(version string, s stats.Counts) StatsResponse {
	var tenant *string
	if s.TenantID != "" {
		tenant = &s.TenantID
	}
	return StatsResponse{
		Version:                   version,
		TenantID:                  tenant,
		DLQUnresolved:             s.DLQUnresolved,
		BudgetPendingReservations: s.BudgetPendingReservations,
		Users:                     s.Users,
		AuditEntries24h:           s.AuditEntries24h,
		TasksByState:              s.TasksByState,
		EscalationsOpenByPattern:  s.OpenEscalationsByPattern,
		AgentsByStatus:            s.AgentsByStatus,
		PendingProposals:          s.PendingProposals,
		OpenReviews:               s.OpenReviews,
		GeneratedAt:               s.GeneratedAt,
	}
}

var _ StatsCounter = (*stats.Service)(nil)
