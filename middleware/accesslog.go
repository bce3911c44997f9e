package middleware

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// RouteUnmatched is the route label of every request that matched no route, so
// scanners cannot create one log key or metric series per path.
const RouteUnmatched = "unmatched"

// Route returns the route template of the request (e.g. /api/v1/dlq/:id).
func Route(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return RouteUnmatched
}

// AccessLog writes one line per request: at info, at error for a 5xx. The
// probe routes (health checks and metrics scrapes, which load balancers,
// Kubernetes and Prometheus call every few seconds) are logged at debug
// whatever they answer, but a 500: their 503 (a dependency down, a shutdown
// draining) is reported by /health itself and by the dependency's own log
// lines.
func AccessLog(log *slog.Logger, probes ...string) gin.HandlerFunc {
	quiet := make(map[string]bool, len(probes))
	for _, p := range probes {
		quiet[p] = true
	}
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route, status := Route(c), c.Writer.Status()
		level := slog.LevelInfo
		switch {
		case quiet[route] && status != http.StatusInternalServerError:
			level = slog.LevelDebug
		case status >= 500:
			level = slog.LevelError
		}
		if !log.Enabled(c.Request.Context(), level) {
			return
		}
		attrs := make([]slog.Attr, 0, 7)
		attrs = append(attrs,
			slog.String("request_id", RequestIDFrom(c)),
			slog.String("method", c.Request.Method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("client_ip", c.ClientIP()),
		)
		if id, ok := IdentityFrom(c); ok {
			attrs = append(attrs, slog.String("user", id.Username))
		}
		log.LogAttrs(c.Request.Context(), level, "request", attrs...)
	}
}
