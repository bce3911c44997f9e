package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// serveMetrics serves the Prometheus registry of this replica; the route adds
// metricsAuth in front.
//
//	@Summary		Prometheus metrics
//	@ID			getMetrics
//	@Description	The metrics of this replica in the Prometheus text format: http_requests_total{route,method,status} and http_request_duration_seconds{route,method} (route is the route template; every unknown path is "unmatched"), the business counters (auth_logins_total, budget_*, dlq_*, breaker_resets_total, rate_limit_*), Go and process metrics, and build_info{version,commit}. Label values never contain a tenant, a user or a raw path. When METRICS_BEARER_TOKEN is set, send "Authorization: Bearer <that token>" (not a login JWT); otherwise no credentials are needed.
//	@Tags			infrastructure
//	@Produce		plain
//	@Success		200	{string}	string					"metrics in the Prometheus text exposition format"
//	@Failure		401	{object}	middleware.ErrorBody	"auth.unauthorized: the metrics bearer token is missing or wrong"
//	@Router			/metrics [get]
func serveMetrics(h http.Handler) gin.HandlerFunc {
	return gin.WrapH(h)
}
