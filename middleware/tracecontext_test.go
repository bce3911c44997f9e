package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/trace"

	"github.com/golden-architecture/control-plane/middleware"
)

// The caller's traceparent becomes the remote parent in the request's
// context; a missing or malformed one leaves no trace context.
func TestTraceContext(t *testing.T) {
	gin.SetMode(gin.TestMode)
	var got trace.SpanContext
	r := gin.New()
	r.Use(middleware.TraceContext())
	r.GET("/", func(c *gin.Context) { got = trace.SpanContextFromContext(c.Request.Context()) })
	for _, tc := range []struct {
		traceparent, tracestate string
		valid                   bool
	}{
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "vendor=x", true},
		{"", "", false},
		{"00-not-a-trace-01", "", false},
	} {
		got = trace.SpanContext{}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.traceparent != "" {
			req.Header.Set("traceparent", tc.traceparent)
			req.Header.Set("tracestate", tc.tracestate)
		}
		r.ServeHTTP(httptest.NewRecorder(), req)
		if got.IsValid() != tc.valid {
			t.Errorf("traceparent %q: valid %v, want %v", tc.traceparent, got.IsValid(), tc.valid)
			continue
		}
		if tc.valid && (got.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || got.SpanID().String() != "00f067aa0ba902b7" ||
			!got.IsRemote() || !got.IsSampled() || got.TraceState().Get("vendor") != "x") {
			t.Errorf("span context = %+v", got)
		}
	}
}
