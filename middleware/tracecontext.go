package middleware

import (
	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/propagation"
)

// traceContext is the W3C trace context propagator (traceparent,
// tracestate).
var traceContext = propagation.TraceContext{}

// TraceContext reads the caller's W3C trace context (traceparent,
// tracestate) into the request's context, so the spans started while
// serving it (the LLM gateway's) continue the caller's trace, and the
// context is propagated upstream even when tracing is off. A request
// without a valid traceparent is left as it is.
func TraceContext() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Header.Get("Traceparent") != "" {
			c.Request = c.Request.WithContext(traceContext.Extract(c.Request.Context(), propagation.HeaderCarrier(c.Request.Header)))
		}
		c.Next()
	}
}
