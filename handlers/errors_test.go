package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/health"
)

// probeResource exercises the binder and the recovery through the real router.
type probeResource struct{}

type probeRequest struct {
	Name   string `json:"name" binding:"required,max=5"`
	Tokens int64  `json:"tokens" binding:"required,min=1,max=1000000000"`
}

func (probeResource) Register(api *gin.RouterGroup, _ RouteLimiter) {
	api.POST("/probe", func(c *gin.Context) {
		var req probeRequest
		if !bindJSON(c, &req) {
			return
		}
		c.JSON(http.StatusOK, req)
	})
	api.GET("/panic", func(*gin.Context) { panic("secret internal detail") })
}

type fixedHealth struct{}

func (fixedHealth) Check(context.Context) (health.Report, bool) {
	return health.Report{Status: "ok"}, true
}

func newTestRouter(t *testing.T, logs io.Writer) http.Handler {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	log := slog.New(slog.NewTextHandler(logs, nil))
	r, err := NewRouter(Deps{
		Log:          log,
		Version:      "test",
		MaxBodyBytes: 1 << 20,
		HTTPMetrics:  middleware.NewHTTPMetrics(prometheus.NewRegistry()),
		Metrics:      http.NotFoundHandler(),
		Health:       &Health{Checker: fixedHealth{}},
		Resources:    []Resource{probeResource{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestErrorShape(t *testing.T) {
	var logs bytes.Buffer
	router := newTestRouter(t, &logs)
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantCode   string
		wantFields []string
	}{
		{"malformed json", "POST", "/api/v1/probe", `{"name":`, 400, "validation.invalid_request", nil},
		{"not json at all", "POST", "/api/v1/probe", `hello`, 400, "validation.invalid_request", nil},
		{"empty body", "POST", "/api/v1/probe", ``, 400, "validation.invalid_request", nil},
		{"two values", "POST", "/api/v1/probe", `{"name":"a","tokens":1} {}`, 400, "validation.invalid_request", nil},
		{"array instead of object", "POST", "/api/v1/probe", `[1]`, 400, "validation.invalid_request", nil},
		{"missing fields", "POST", "/api/v1/probe", `{}`, 422, "validation.unprocessable_entity", []string{"name", "tokens"}},
		{"too long and zero", "POST", "/api/v1/probe", `{"name":"abcdef","tokens":0}`, 422, "validation.unprocessable_entity", []string{"name", "tokens"}},
		{"string for int", "POST", "/api/v1/probe", `{"name":"a","tokens":"5"}`, 422, "validation.unprocessable_entity", []string{"tokens"}},
		{"fraction", "POST", "/api/v1/probe", `{"name":"a","tokens":1.5}`, 422, "validation.unprocessable_entity", []string{"tokens"}},
		{"overflow", "POST", "/api/v1/probe", `{"name":"a","tokens":99999999999999999999999}`, 422, "validation.unprocessable_entity", []string{"tokens"}},
		{"too large", "POST", "/api/v1/probe", `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "request.too_large", nil},
		{"unknown route", "GET", "/api/v1/nope", ``, 404, "resource.not_found", nil},
		{"wrong method", "DELETE", "/health", ``, 405, "request.method_not_allowed", nil},
		{"panic", "GET", "/api/v1/panic", ``, 500, "internal.error", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			router.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			var body struct {
				ErrorCode string `json:"error_code"`
				Message   string `json:"message"`
				RequestID string `json:"request_id"`
				Details   struct {
					Errors []struct{ Field, Message string } `json:"errors"`
				} `json:"details"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q is not JSON: %v", rec.Body, err)
			}
			if body.ErrorCode != tt.wantCode {
				t.Errorf("error_code = %q, want %q", body.ErrorCode, tt.wantCode)
			}
			if body.Message == "" || body.RequestID == "" || rec.Header().Get("X-Request-ID") != body.RequestID {
				t.Errorf("message %q, request_id %q, header %q: want all set and equal ids",
					body.Message, body.RequestID, rec.Header().Get("X-Request-ID"))
			}
			var gotFields []string
			for _, e := range body.Details.Errors {
				gotFields = append(gotFields, e.Field)
				if e.Message == "" {
					t.Errorf("field %s has no message", e.Field)
				}
			}
			if diff := cmp.Diff(tt.wantFields, gotFields); diff != "" {
				t.Errorf("details.errors fields (-want +got):\n%s", diff)
			}
			if strings.Contains(rec.Body.String(), "secret internal detail") {
				t.Errorf("body leaks the panic: %s", rec.Body)
			}
		})
	}
	if !strings.Contains(logs.String(), "secret internal detail") || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("the panic and its stack should be logged; log:\n%s", logs.String())
	}
}

func TestRequestIDHeader(t *testing.T) {
	router := newTestRouter(t, io.Discard)
	tests := []struct {
		name, in string
		keep     bool
	}{
		{"well formed kept", "abc-123_X.y", true},
		{"128 chars kept", strings.Repeat("a", 128), true},
		{"129 chars replaced", strings.Repeat("a", 129), false},
		{"header injection replaced", "abc\r\nSet-Cookie: x=1", false},
		{"spaces replaced", "a b", false},
		{"absent generated", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/health/live", nil)
			if tt.in != "" {
				req.Header["X-Request-Id"] = []string{tt.in}
			}
			rec := httptest.NewRecorder()
			router.ServeHTTP(rec, req)
			got := rec.Header().Get("X-Request-ID")
			if tt.keep && got != tt.in {
				t.Errorf("X-Request-ID = %q, want %q", got, tt.in)
			}
			if !tt.keep && (got == tt.in || len(got) != 32) {
				t.Errorf("X-Request-ID = %q, want a fresh 32-char id", got)
			}
		})
	}
}
