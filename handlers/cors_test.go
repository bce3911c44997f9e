package handlers_test

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/middleware"
)

const (
	allowedOrigin = "https://app.example.com"
	otherAllowed  = "http://localhost:5173"
	refusedOrigin = "https://evil.example.net"
)

func TestCORS(t *testing.T) {
	srv := testenv.Quick(t, "CORS_ALLOW_ORIGINS", " "+allowedOrigin+" , "+otherAllowed+" ,")
	preflight := func(origin, method string) map[string]string {
		return map[string]string{
			"Origin":                         origin,
			"Access-Control-Request-Method":  method,
			"Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
		}
	}
	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		wantStatus int
		wantCode   string // error_code when the answer is an error
		wantOrigin string // Access-Control-Allow-Origin ("" = absent)
		preflight  bool
	}{
		{"allowed origin, simple GET", "GET", "/health/live", map[string]string{"Origin": allowedOrigin}, 200, "", allowedOrigin, false},
		{"second allowed origin (list trimmed)", "GET", "/health/live", map[string]string{"Origin": otherAllowed}, 200, "", otherAllowed, false},
		{"allowed origin, error answer readable", "GET", "/api/v1/stats", map[string]string{"Origin": allowedOrigin}, 401, "auth.unauthorized", allowedOrigin, false},
		{"allowed origin, unknown route", "GET", "/api/v1/nope", map[string]string{"Origin": allowedOrigin}, 404, "resource.not_found", allowedOrigin, false},
		{"refused origin", "GET", "/health/live", map[string]string{"Origin": refusedOrigin}, 403, "auth.forbidden", "", false},
		{"refused origin differing only by scheme", "GET", "/health/live", map[string]string{"Origin": "http://app.example.com"}, 403, "auth.forbidden", "", false},
		{"no Origin (not a browser)", "GET", "/health/live", nil, 200, "", "", false},
		{"preflight of an authenticated route", "OPTIONS", "/api/v1/stats", preflight(allowedOrigin, "GET"), 204, "", allowedOrigin, true},
		{"preflight of login", "OPTIONS", "/api/v1/auth/login", preflight(allowedOrigin, "POST"), 204, "", allowedOrigin, true},
		{"preflight of a route with a parameter", "OPTIONS", "/api/v1/dlq/0b6f7e44-2c4a-4c53-9a57-0d6f64f1c001/resolve", preflight(otherAllowed, "POST"), 204, "", otherAllowed, true},
		{"preflight of a PUT", "OPTIONS", "/api/v1/budget/limits", preflight(allowedOrigin, "PUT"), 204, "", allowedOrigin, true},
		{"preflight from a refused origin", "OPTIONS", "/api/v1/stats", preflight(refusedOrigin, "GET"), 403, "auth.forbidden", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := srv.Send(t, testenv.Request{Method: tt.method, Path: tt.path, Header: tt.header})
			if tt.wantCode != "" {
				r.WantError(t, tt.wantStatus, tt.wantCode)
			} else {
				r.WantStatus(t, tt.wantStatus)
			}
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != tt.wantOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantOrigin)
			}
			if tt.wantOrigin == "" {
				if got := r.Header.Get("Access-Control-Allow-Credentials"); got != "" {
					t.Errorf("Access-Control-Allow-Credentials = %q on an answer without CORS", got)
				}
				return
			}
			if got := r.Header.Get("Access-Control-Allow-Credentials"); got != "true" {
				t.Errorf("Access-Control-Allow-Credentials = %q, want true", got)
			}
			if got := r.Header.Values("Vary"); !containsFold(strings.Join(got, ","), "Origin") {
				t.Errorf("Vary = %q, want it to name Origin", got)
			}
			if tt.preflight {
				if len(r.Body) != 0 {
					t.Errorf("preflight body = %q, want empty", r.Body)
				}
				methods := r.Header.Get("Access-Control-Allow-Methods")
				for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
					if !containsFold(methods, m) {
						t.Errorf("Access-Control-Allow-Methods = %q, lacks %s", methods, m)
					}
				}
				headers := r.Header.Get("Access-Control-Allow-Headers")
				for _, h := range append(specHeaders(t, "request"), "Authorization", "Content-Type", "X-API-Key", "traceparent", "tracestate") {
					if !containsFold(headers, h) {
						t.Errorf("Access-Control-Allow-Headers = %q, lacks %s", headers, h)
					}
				}
				if r.Header.Get("Access-Control-Max-Age") == "" {
					t.Error("no Access-Control-Max-Age on the preflight")
				}
				return
			}
			exposed := r.Header.Get("Access-Control-Expose-Headers")
			for _, h := range specHeaders(t, "answer") {
				if !containsFold(exposed, h) {
					t.Errorf("Access-Control-Expose-Headers = %q, lacks %s", exposed, h)
				}
			}
		})
	}
}

// safelisted answer headers are readable by browser code without being exposed
// (Fetch standard, "CORS-safelisted response-header name").
var safelisted = map[string]bool{
	"Cache-Control": true, "Content-Language": true, "Content-Length": true, "Content-Type": true,
	"Expires": true, "Last-Modified": true, "Pragma": true,
}

// specHeaders lists the header parameters of the spec ("request") or the
// headers its answers declare ("answer"): browser code must be allowed to send
// the first and to read the second.
func specHeaders(t *testing.T, which string) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, o := range operations(t, loadSpec(t)) {
		if which == "request" {
			for _, p := range o.op.Parameters {
				if p.Value != nil && p.Value.In == "header" {
					seen[p.Value.Name] = true
				}
			}
			continue
		}
		for _, resp := range o.op.Responses.Map() {
			if resp.Value == nil {
				continue
			}
			for name := range resp.Value.Headers {
				if !safelisted[http.CanonicalHeaderKey(name)] {
					seen[name] = true
				}
			}
		}
	}
	if len(seen) == 0 {
		t.Fatalf("the spec declares no %s headers", which)
	}
	return sortedKeys(seen)
}

// TestCORSOff: with CORS_ALLOW_ORIGINS empty no answer carries CORS headers
// and OPTIONS is routed like any other method.
func TestCORSOff(t *testing.T) {
	srv := testenv.Quick(t)
	r := srv.Send(t, testenv.Request{Method: "GET", Path: "/health/live", Header: map[string]string{"Origin": allowedOrigin}})
	r.WantStatus(t, http.StatusOK)
	pre := srv.Send(t, testenv.Request{Method: "OPTIONS", Path: "/health/live", Header: map[string]string{
		"Origin": allowedOrigin, "Access-Control-Request-Method": "GET",
	}})
	pre.WantError(t, http.StatusMethodNotAllowed, "request.method_not_allowed")
	for _, resp := range []*testenv.Response{r, pre} {
		for name := range resp.Header {
			if strings.HasPrefix(strings.ToLower(name), "access-control-") {
				t.Errorf("header %s = %q with CORS off", name, resp.Header.Get(name))
			}
		}
	}
}

// TestCORSRefusesBadOrigins: "*" (credentials are always allowed) and values
// that can never equal a browser's Origin refuse to build the router, so
// app.New and the server refuse to start.
func TestCORSRefusesBadOrigins(t *testing.T) {
	tests := []struct {
		name    string
		origins []string
		want    string
	}{
		{"star", []string{"*"}, `"*" cannot be combined with credentials`},
		{"star among others", []string{allowedOrigin, "*"}, `"*" cannot be combined with credentials`},
		{"no scheme", []string{"app.example.com"}, "scheme://host"},
		{"trailing slash", []string{allowedOrigin + "/"}, "no path"},
		{"path", []string{allowedOrigin + "/app"}, "no path"},
		{"other scheme", []string{"ftp://app.example.com"}, "http or https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := handlers.NewRouter(handlers.Deps{
				Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
				CORSOrigins: tt.origins,
				HTTPMetrics: middleware.NewHTTPMetrics(prometheus.NewRegistry()),
				Metrics:     http.NotFoundHandler(),
				Health:      &handlers.Health{},
			})
			if err == nil || !strings.Contains(err.Error(), "CORS_ALLOW_ORIGINS") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewRouter(CORS %q) error = %v, want one naming CORS_ALLOW_ORIGINS and %q", tt.origins, err, tt.want)
			}
		})
	}
}

func containsFold(list, item string) bool {
	for _, v := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(v), item) {
			return true
		}
	}
	return false
}
