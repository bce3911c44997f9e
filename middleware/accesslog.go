package middleware

import (
	"log/slog"
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

// AccessLog writes one line per request.
func AccessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		attrs := []slog.Attr{
			slog.String("request_id", RequestIDFrom(c)),
			slog.String("method", c.Request.Method),
			slog.String("route", Route(c)),
			slog.Int("status", c.Writer.Status()),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("client_ip", c.ClientIP()),
		}
		if id, ok := IdentityFrom(c); ok {
			attrs = append(attrs, slog.String("user", id.Username))
		}
		level := slog.LevelInfo
		if c.Writer.Status() >= 500 {
			level = slog.LevelError
		}
		log.LogAttrs(c.Request.Context(), level, "request", attrs...)
	}
}
