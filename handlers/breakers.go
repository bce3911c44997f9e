package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/breaker"
	"github.com/golden-architecture/control-plane/services/ratelimit"
)

// BreakerService is what the circuit breaker handlers need from
// services/breaker.
type BreakerService interface {
	Instance() string
	List() []breaker.Status
	ResetAll(ctx context.Context, actor audit.Actor) (breaker.Result, error)
	Reset(ctx context.Context, actor audit.Actor, name string) (breaker.Result, error)
}

var _ BreakerService = (*breaker.Service)(nil)

// Breakers serves the circuit breakers of the replica that answers.
type Breakers struct {
	Service BreakerService
}

// BreakerItem is one circuit breaker.
type BreakerItem struct {
	Name  string `json:"name" example:"redis"`
	State string `json:"state" enums:"closed,half_open,open" example:"closed"`
	// ConsecutiveFailures is the current run of failures (cleared on every state change).
	ConsecutiveFailures uint32 `json:"consecutive_failures" example:"0" minimum:"0"`
	// TotalRequests counts every call that asked the breaker since the process started (resets keep it).
	TotalRequests  uint64 `json:"total_requests" example:"1520" minimum:"0"`
	TotalFailures  uint64 `json:"total_failures" example:"7" minimum:"0"`
	TotalSuccesses uint64 `json:"total_successes" example:"1490" minimum:"0"`
	// TotalRejected counts calls refused at once, without reaching the dependency.
	TotalRejected   uint64    `json:"total_rejected" example:"23" minimum:"0"`
	LastStateChange time.Time `json:"last_state_change" example:"2026-01-02T15:04:05Z" format:"date-time"`
} // @name CircuitBreaker

// BreakerListResponse is the answer of GET /circuit-breakers.
type BreakerListResponse struct {
	// Instance is the replica that answered (INSTANCE_ID): breakers are per replica.
	Instance string        `json:"instance" example:"api-7f9c4d-x2kq"`
	Breakers []BreakerItem `json:"breakers"`
} // @name CircuitBreakerList

// BreakerResetResponse is the answer of a reset.
type BreakerResetResponse struct {
	Status     string   `json:"status" enums:"success" example:"success"`
	ResetCount int      `json:"reset_count" example:"3" minimum:"0"`
	Breakers   []string `json:"breakers" example:"database,nats,redis"`
	// Broadcast is true when the reset was sent to every other replica (false with a single instance).
	Broadcast bool `json:"broadcast" example:"true"`
} // @name CircuitBreakerReset

// Register implements Resource.
func (h *Breakers) Register(api *gin.RouterGroup, limits RouteLimiter) {
	g := api.Group("/circuit-breakers", middleware.Authenticated())
	platform := middleware.PlatformOnly()
	g.GET("", middleware.Require(auth.PermMetricsView), platform, h.List)
	g.POST("/reset_all", middleware.Require(auth.PermSystemAdmin), platform, limits.Scope(ratelimit.ScopeBreakerReset), h.ResetAll)
	g.POST("/:name/reset", middleware.Require(auth.PermSystemAdmin), platform, limits.Scope(ratelimit.ScopeBreakerReset), h.Reset)
}

// List godoc
//
//	@Summary		List the circuit breakers
//	@ID			listCircuitBreakers
//	@Description	The breakers guarding this replica's outbound dependencies (database, nats, and redis when Redis is configured), sorted by name, with their state and counts. Breakers are per replica: instance names the one that answered. Platform-level: needs metrics.view and an account bound to no tenant.
//	@Tags			circuit-breakers
//	@Produce		json
//	@Security		BearerAuth
//	@Success		200		{object}	BreakerListResponse
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden: this endpoint is platform-level: only accounts bound to no tenant may use it"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/circuit-breakers [get]
func (h *Breakers) List(c *gin.Context) {
	c.JSON(http.StatusOK, breakerListResponse(h.Service.Instance(), h.Service.List()))
}

// ResetAll godoc
//
//	@Summary		Reset every circuit breaker on every replica
//	@ID			resetAllCircuitBreakers
//	@Description	Closes every breaker of this replica at once and broadcasts the reset to the other replicas over Redis pub/sub (with a single instance, locally only). Written to the audit trail (breakers.reset_all) and counted in breaker_resets_total. A breaker whose dependency is still down opens again after BREAKER_FAILURE_THRESHOLD failures. Platform-level: needs system.admin and an account bound to no tenant. Rate limited by RATE_LIMIT_BREAKER_RESET (default 5/min) per caller.
//	@Tags			circuit-breakers
//	@Produce		json
//	@Security		BearerAuth
//	@Success		200		{object}	BreakerResetResponse
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden | auth.forbidden: this endpoint is platform-level: only accounts bound to no tenant may use it"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/circuit-breakers/reset_all [post]
func (h *Breakers) ResetAll(c *gin.Context) {
	res, err := h.Service.ResetAll(c.Request.Context(), actorOf(c))
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, breakerResetResponse(res))
}

// Reset godoc
//
//	@Summary		Reset one circuit breaker on every replica
//	@ID			resetCircuitBreaker
//	@Description	Closes the named breaker on this replica at once and broadcasts the reset to the other replicas over Redis pub/sub (with a single instance, locally only). Written to the audit trail (breakers.reset). Platform-level: needs system.admin and an account bound to no tenant. Shares the RATE_LIMIT_BREAKER_RESET limit with reset_all.
//	@Tags			circuit-breakers
//	@Produce		json
//	@Security		BearerAuth
//	@Param			name	path		string	true	"breaker name"	Enums(database, nats, redis)	maxlength(64)
//	@Success		200		{object}	BreakerResetResponse
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden | auth.forbidden: this endpoint is platform-level: only accounts bound to no tenant may use it"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: no circuit breaker has this name"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/circuit-breakers/{name}/reset [post]
func (h *Breakers) Reset(c *gin.Context) {
	res, err := h.Service.Reset(c.Request.Context(), actorOf(c), c.Param("name"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, breakerResetResponse(res))
}

// breakerListResponse converts the service's snapshots to the response DTO.
func breakerListResponse(instance string, ss []breaker.Status) BreakerListResponse {
	out := BreakerListResponse{Instance: instance, Breakers: make([]BreakerItem, 0, len(ss))}
	for _, s := range ss {
		out.Breakers = append(out.Breakers, BreakerItem{
			Name:                s.Name,
			State:               string(s.State),
			ConsecutiveFailures: s.ConsecutiveFailures,
			TotalRequests:       s.TotalRequests,
			TotalFailures:       s.TotalFailures,
			TotalSuccesses:      s.TotalSuccesses,
			TotalRejected:       s.TotalRejected,
			LastStateChange:     s.LastStateChange,
		})
	}
	return out
}

// breakerResetResponse converts a reset result to the response DTO.
func breakerResetResponse(r breaker.Result) BreakerResetResponse {
	names := r.Names
	if names == nil {
		names = []string{}
	}
	return BreakerResetResponse{Status: "success", ResetCount: len(names), Breakers: names, Broadcast: r.Broadcast}
}
