package handlers

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/services/health"
)

// ReadinessChecker says whether this replica should receive traffic.
type ReadinessChecker interface {
	Ready(ctx context.Context) (map[string]string, bool)
}

// HealthChecker measures every dependency.
type HealthChecker interface {
	Check(ctx context.Context) (health.Report, bool)
}

// Health serves the infrastructure endpoints.
type Health struct {
	Checker   HealthChecker
	Readiness ReadinessChecker
	Name      string
	Version   string
}

// RootResponse is the answer of GET /.
type RootResponse struct {
	Name    string            `json:"name" example:"golden-architecture-control-plane"`
	Version string            `json:"version" example:"1.0.0"`
	Links   map[string]string `json:"links"`
} // @name ServiceInfo

// StatusResponse is a bare status answer.
type StatusResponse struct {
	Status string `json:"status" enums:"ok,logged_out" example:"ok"`
} // @name Status

// ReadyResponse is the answer of GET /health/ready.
type ReadyResponse struct {
	Status string            `json:"status" enums:"ready,not_ready" example:"ready"`
	Checks map[string]string `json:"checks"`
} // @name Readiness

// Root godoc
//
//	@Summary		Service name, version and links
//	@ID			getServiceInfo
//	@Description	Entry point for people and crawlers: where the docs, health and metrics are.
//	@Tags			infrastructure
//	@Produce		json
//	@Success		200	{object}	RootResponse
//	@Router			/ [get]
func (h *Health) Root(c *gin.Context) {
	c.JSON(http.StatusOK, RootResponse{
		Name:    h.Name,
		Version: h.Version,
		Links: map[string]string{
			"console": "/console/",
			"docs":    "/docs/index.html",
			"health":  "/health",
			"ready":   "/health/ready",
			"metrics": "/metrics",
			"api":     "/api/v1",
			"jwks":    "/.well-known/jwks.json",
		},
	})
}

// Check godoc
//
//	@Summary		Health of every dependency
//	@ID			getHealth
//	@Description	Pings the database, Redis and NATS and reports each with its latency. 503 when a required component is down. Rate limited by RATE_LIMIT_HEALTH per client.
//	@Tags			infrastructure
//	@Produce		json
//	@Success		200		{object}	health.Report
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded: rate limit exceeded: 10 requests allowed in this window (scope health); retry in 42 s"
//	@Failure		503		{object}	health.Report			"a required component is down | service.unavailable"
//	@Router			/health [get]
func (h *Health) Check(c *gin.Context) {
	report, ok := h.Checker.Check(c.Request.Context())
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, report)
}

// Live godoc
//
//	@Summary		Liveness probe
//	@ID			getLiveness
//	@Description	200 while the process serves HTTP. Never rate limited, never depends on another component.
//	@Tags			infrastructure
//	@Produce		json
//	@Success		200	{object}	StatusResponse
//	@Router			/health/live [get]
func (h *Health) Live(c *gin.Context) {
	c.JSON(http.StatusOK, StatusResponse{Status: "ok"})
}

// Ready godoc
//
//	@Summary		Readiness probe
//	@ID			getReadiness
//	@Description	200 when the database answers, no migration is pending and the server is not shutting down; 503 otherwise (during SHUTDOWN_DRAIN_DELAY it still serves every other request). Never rate limited.
//	@Tags			infrastructure
//	@Produce		json
//	@Success		200	{object}	ReadyResponse
//	@Failure		503	{object}	ReadyResponse
//	@Router			/health/ready [get]
func (h *Health) Ready(c *gin.Context) {
	checks, ok := h.Readiness.Ready(c.Request.Context())
	if !ok {
		c.JSON(http.StatusServiceUnavailable, ReadyResponse{Status: "not_ready", Checks: checks})
		return
	}
	c.JSON(http.StatusOK, ReadyResponse{Status: "ready", Checks: checks})
}
