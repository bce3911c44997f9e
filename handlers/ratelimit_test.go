package handlers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/ulule/limiter/v3"

	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/platform/redisconn"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/health"
	"github.com/golden-architecture/control-plane/services/ratelimit"
)

// rlVerifier accepts "user:<id>:<role>" tokens and refuses everything else
// (a forged token, "expired:<id>:<role>"), like the real verifier does.
type rlVerifier struct{}

func (rlVerifier) Verify(_ context.Context, token string) (auth.Identity, error) {
	parts := strings.Split(token, ":")
	if len(parts) == 3 && parts[0] == "user" {
		return auth.Identity{UserID: parts[1], Username: parts[1], Role: auth.Role(parts[2])}, nil
	}
	return auth.Identity{}, errs.New(errs.CodeUnauthorized, "token is expired or forged")
}

// rlResource has one route per route scope, plus one with only the role
// limit, so every scope is tested through the real router and middleware.
// Login is registered the way handlers.Auth registers it: public, outside
// the role limits.
type rlResource struct{}

func rlOK(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) }

func (rlResource) Register(api *gin.RouterGroup, limits handlers.RouteLimiter) {
	api.GET("/rl/plain", rlOK)
	api.POST("/rl/budget", limits.Scope(ratelimit.ScopeBudgetRequest), rlOK)
	api.POST("/rl/reset", limits.Scope(ratelimit.ScopeBreakerReset), rlOK)
	api.GET("/rl/stats", limits.Scope(ratelimit.ScopeHealth), rlOK)
}

func rlPublic(api *gin.RouterGroup, limits handlers.RouteLimiter) {
	api.POST("/rl/login", limits.Scope(ratelimit.ScopeLogin), rlOK)
}

type rlHealth struct{}

func (rlHealth) Check(context.Context) (health.Report, bool) {
	return health.Report{Status: "ok"}, true
}

// rlOptions are the rates of a test router: every role and scope unlimited
// in practice unless overridden by name ("admin", "login", ...).
func rlOptions(t testing.TB, overrides map[string]string) ratelimit.Options {
	t.Helper()
	rate := func(name string) ratelimit.Rate {
		s := "100000-M"
		if v, ok := overrides[name]; ok {
			s = v
		}
		r, err := limiter.NewRateFromFormatted(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	opts := ratelimit.Options{Roles: map[string]ratelimit.Rate{}, Scopes: map[string]ratelimit.Scope{}}
	for _, role := range auth.Roles() {
		opts.Roles[string(role)] = rate(string(role))
	}
	for _, s := range []string{ratelimit.ScopeLogin, ratelimit.ScopeBudgetRequest, ratelimit.ScopeBreakerReset, ratelimit.ScopeHealth} {
		opts.Scopes[s] = ratelimit.Scope{Rate: rate(s), PerIP: s == ratelimit.ScopeLogin}
	}
	return opts
}

// rlRouter is the real router with the real limiter middleware, the test
// verifier and rlResource.
func rlRouter(t testing.TB, store ratelimit.Store, opts ratelimit.Options, limitsOn bool) (http.Handler, *prometheus.Registry) {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	reg := prometheus.NewRegistry()
	var limits handlers.RouteLimiter = handlers.NoLimits{}
	if limitsOn {
		opts.Metrics = ratelimit.NewMetrics(reg)
		l, err := ratelimit.New(store, opts)
		if err != nil {
			t.Fatal(err)
		}
		limits = middleware.NewRateLimits(l)
	}
	r, err := handlers.NewRouter(handlers.Deps{
		Log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		Version:      "test",
		MaxBodyBytes: 1 << 20,
		HTTPMetrics:  middleware.NewHTTPMetrics(reg),
		Metrics:      http.NotFoundHandler(),
		Verifier:     rlVerifier{},
		Limits:       limits,
		Health:       &handlers.Health{Checker: rlHealth{}},
		Resources:    []handlers.Resource{rlResource{}},
		Public:       []func(*gin.RouterGroup, handlers.RouteLimiter){rlPublic},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, reg
}

func rlServer(t testing.TB, overrides map[string]string) (*testenv.Client, *prometheus.Registry) {
	t.Helper()
	h, reg := rlRouter(t, ratelimit.NewMemoryStore("t"), rlOptions(t, overrides), true)
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return testenv.NewClient(hs.URL), reg
}

// wantLimited checks a 429: Retry-After, the X-RateLimit-* headers and the
// one error shape with details {scope, limit, remaining, reset_at}, the
// scope named alike in the header, the details and the message.
func wantLimited(t testing.TB, r *testenv.Response, scope string, limit int) {
	t.Helper()
	e := r.WantError(t, http.StatusTooManyRequests, "rate_limit.exceeded")
	now := time.Now().Unix()
	retry, err := strconv.ParseInt(r.Header.Get("Retry-After"), 10, 64)
	if err != nil || retry < 1 || retry > 62 {
		t.Errorf("Retry-After = %q, want whole seconds in [1, 62]", r.Header.Get("Retry-After"))
	}
	wantHeaders(t, r, scope, limit, 0)
	reset, _ := strconv.ParseInt(r.Header.Get("X-RateLimit-Reset"), 10, 64)
	if reset < now || reset > now+62 {
		t.Errorf("X-RateLimit-Reset = %d, want unix seconds within the minute from %d", reset, now)
	}
	if e.Details["scope"] != scope || e.Details["limit"] != float64(limit) || e.Details["remaining"] != float64(0) {
		t.Errorf("details = %v, want scope %q, limit %d, remaining 0", e.Details, scope, limit)
	}
	if want := fmt.Sprintf("(scope %s)", scope); !strings.Contains(e.Message, want) {
		t.Errorf("message = %q, want it to name the scope: %s", e.Message, want)
	}
	at, err := time.Parse(time.RFC3339, fmt.Sprint(e.Details["reset_at"]))
	if err != nil || at.Unix() != reset {
		t.Errorf("details.reset_at = %v, want the RFC 3339 form of X-RateLimit-Reset %d", e.Details["reset_at"], reset)
	}
}

// wantHeaders checks X-RateLimit-Scope, -Limit and -Remaining.
func wantHeaders(t testing.TB, r *testenv.Response, scope string, limit, remaining int) {
	t.Helper()
	gotScope, gotLimit, gotRemaining := r.Header.Get("X-RateLimit-Scope"), r.Header.Get("X-RateLimit-Limit"), r.Header.Get("X-RateLimit-Remaining")
	if gotScope != scope || gotLimit != strconv.Itoa(limit) || gotRemaining != strconv.Itoa(remaining) {
		t.Errorf("X-RateLimit-Scope/Limit/Remaining = %q/%q/%q, want %s/%d/%d", gotScope, gotLimit, gotRemaining, scope, limit, remaining)
	}
	if r.Header.Get("X-RateLimit-Reset") == "" {
		t.Error("no X-RateLimit-Reset header")
	}
}

func wantNoLimitHeaders(t testing.TB, r *testenv.Response) {
	t.Helper()
	for _, h := range []string{"X-RateLimit-Scope", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"} {
		if v := r.Header.Get(h); v != "" {
			t.Errorf("%s = %q on an unlimited answer", h, v)
		}
	}
}

// TestRateLimitEveryScope: for each role limit and each route scope, 3
// requests pass with counting-down headers and the 4th is a 429; the scope
// has one name in the header, the answer and the metric label, and
// RATE_LIMIT_<SCOPE> is its variable (TestRateLimitScopesAreTheirVariables
// in app holds that side).
func TestRateLimitEveryScope(t *testing.T) {
	tests := []struct {
		scope  string
		method string
		path   string
		token  string
	}{
		{"anonymous", http.MethodGet, "/api/v1/rl/plain", ""},
		{"admin", http.MethodGet, "/api/v1/rl/plain", "user:1:admin"},
		{"operator", http.MethodGet, "/api/v1/rl/plain", "user:2:operator"},
		{"developer", http.MethodGet, "/api/v1/rl/plain", "user:3:developer"},
		{"observer", http.MethodGet, "/api/v1/rl/plain", "user:4:observer"},
		{"login", http.MethodPost, "/api/v1/rl/login", ""},
		{"budget_request", http.MethodPost, "/api/v1/rl/budget", "user:1:operator"},
		{"breaker_reset", http.MethodPost, "/api/v1/rl/reset", "user:1:admin"},
		{"health", http.MethodGet, "/api/v1/rl/stats", "user:1:observer"},
		{"health", http.MethodGet, "/health", ""},
	}
	for _, tt := range tests {
		t.Run(tt.scope+" on "+tt.path, func(t *testing.T) {
			c, reg := rlServer(t, map[string]string{tt.scope: "3-M"})
			req := testenv.Request{Method: tt.method, Path: tt.path, Token: tt.token}
			for i := range 3 {
				r := c.Send(t, req)
				if r.Status == http.StatusTooManyRequests {
					t.Fatalf("request %d: 429 before the limit: %s", i+1, r.Body)
				}
				wantHeaders(t, r, tt.scope, 3, 2-i)
			}
			wantLimited(t, c.Send(t, req), tt.scope, 3)
			if got := testenv.MetricSum(t, reg, "rate_limit_exceeded_total", map[string]string{"scope": tt.scope}); got != 1 {
				t.Errorf("rate_limit_exceeded_total{scope=%q} = %v, want 1", tt.scope, got)
			}
		})
	}
}

// TestRateLimitKeys: a verified token is limited as its user, anything else
// as its IP; login is per IP whoever calls.
func TestRateLimitKeys(t *testing.T) {
	get := func(c *testenv.Client, token string) *testenv.Response {
		return c.Send(t, testenv.Request{Method: http.MethodGet, Path: "/api/v1/rl/plain", Token: token})
	}
	t.Run("two users from one IP have separate budgets", func(t *testing.T) {
		c, _ := rlServer(t, map[string]string{"developer": "2-M", "anonymous": "2-M"})
		get(c, "user:a:developer").WantStatus(t, http.StatusOK)
		get(c, "user:a:developer").WantStatus(t, http.StatusOK)
		wantLimited(t, get(c, "user:a:developer"), "developer", 2)
		wantHeaders(t, get(c, "user:b:developer").WantStatus(t, http.StatusOK), "developer", 2, 1)
		wantHeaders(t, get(c, "").WantStatus(t, http.StatusOK), "anonymous", 2, 1) // the IP's own budget
	})
	for _, bad := range []string{"forged-token", "expired:a:admin"} {
		t.Run(bad+" counts against its IP", func(t *testing.T) {
			c, _ := rlServer(t, map[string]string{"anonymous": "2-M"})
			wantHeaders(t, get(c, bad).WantStatus(t, http.StatusOK), "anonymous", 2, 1)
			wantHeaders(t, get(c, "").WantStatus(t, http.StatusOK), "anonymous", 2, 0)
			wantLimited(t, get(c, bad), "anonymous", 2)
			wantLimited(t, get(c, ""), "anonymous", 2)
			wantHeaders(t, get(c, "user:a:admin").WantStatus(t, http.StatusOK), "admin", 100000, 99999)
		})
	}
	t.Run("login is per IP even with a token", func(t *testing.T) {
		c, _ := rlServer(t, map[string]string{"login": "2-M"})
		login := func(token string) *testenv.Response {
			return c.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/rl/login", Token: token})
		}
		login("user:a:admin").WantStatus(t, http.StatusOK)
		login("user:b:admin").WantStatus(t, http.StatusOK)
		wantLimited(t, login(""), "login", 2)
	})
	t.Run("other scopes are per user", func(t *testing.T) {
		c, _ := rlServer(t, map[string]string{"budget_request": "1-M"})
		budget := func(token string) *testenv.Response {
			return c.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/rl/budget", Token: token})
		}
		budget("user:a:operator").WantStatus(t, http.StatusOK)
		wantLimited(t, budget("user:a:operator"), "budget_request", 1)
		budget("user:b:operator").WantStatus(t, http.StatusOK)
		budget("").WantStatus(t, http.StatusOK)
	})
}

// TestRateLimitHeadersShowClosest: with the role and a route limit on one
// request, the headers describe the one with fewer requests remaining, and
// the 429 the one that refused.
func TestRateLimitHeadersShowClosest(t *testing.T) {
	budget := func(c *testenv.Client) *testenv.Response {
		return c.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/rl/budget", Token: "user:a:operator"})
	}
	tests := []struct {
		name                 string
		operator, budget     string
		wantScope            string
		wantLimit, wantRemai int
	}{
		{"route scope closer", "5-M", "3-M", "budget_request", 3, 2},
		{"role closer", "2-M", "10-M", "operator", 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := rlServer(t, map[string]string{"operator": tt.operator, "budget_request": tt.budget})
			wantHeaders(t, budget(c).WantStatus(t, http.StatusOK), tt.wantScope, tt.wantLimit, tt.wantRemai)
		})
	}
	t.Run("the exhausted scope answers", func(t *testing.T) {
		// The role allows 2, the route 1: the second request is refused by
		// the route while the role still has 0 left; the 429 names the route.
		c, _ := rlServer(t, map[string]string{"operator": "2-M", "budget_request": "1-M"})
		budget(c).WantStatus(t, http.StatusOK)
		wantLimited(t, budget(c), "budget_request", 1)
		// The role has now been used up too (both count): the next request
		// is refused by the role first.
		wantLimited(t, budget(c), "operator", 2)
	})
}

// TestRateLimitLoginOwnLimit: RATE_LIMIT_LOGIN alone limits login, above a
// lower RATE_LIMIT_ANONYMOUS; logins use no role budget, anonymous or not.
func TestRateLimitLoginOwnLimit(t *testing.T) {
	c, _ := rlServer(t, map[string]string{"anonymous": "2-M", "developer": "2-M", "login": "6-M"})
	login := func(token string) *testenv.Response {
		return c.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/rl/login", Token: token})
	}
	for i := range 5 {
		wantHeaders(t, login("").WantStatus(t, http.StatusOK), "login", 6, 5-i)
	}
	wantHeaders(t, login("user:d:developer").WantStatus(t, http.StatusOK), "login", 6, 0)
	wantLimited(t, login(""), "login", 6)
	wantLimited(t, login("user:d:developer"), "login", 6)
	plain := func(token string) *testenv.Response {
		return c.Send(t, testenv.Request{Method: http.MethodGet, Path: "/api/v1/rl/plain", Token: token})
	}
	wantHeaders(t, plain("").WantStatus(t, http.StatusOK), "anonymous", 2, 1)
	wantHeaders(t, plain("user:d:developer").WantStatus(t, http.StatusOK), "developer", 2, 1)
}

// TestRateLimitForwardedFor: X-Forwarded-For is ignored from an untrusted
// peer and used from a trusted proxy (httptest peers are 127.0.0.1).
func TestRateLimitForwardedFor(t *testing.T) {
	health := func(srv *testenv.Server, xff string) *testenv.Response {
		return srv.Send(t, testenv.Request{Method: http.MethodGet, Path: "/health", Header: map[string]string{"X-Forwarded-For": xff}})
	}
	t.Run("untrusted peer", func(t *testing.T) {
		srv := testenv.Quick(t, "RATE_LIMIT_HEALTH", "2-M")
		health(srv, "203.0.113.1").WantStatus(t, http.StatusOK)
		health(srv, "203.0.113.2").WantStatus(t, http.StatusOK)
		wantLimited(t, health(srv, "203.0.113.3"), "health", 2)
	})
	t.Run("trusted proxy", func(t *testing.T) {
		srv := testenv.Quick(t, "RATE_LIMIT_HEALTH", "2-M", "TRUSTED_PROXIES", "127.0.0.1/32")
		health(srv, "203.0.113.1").WantStatus(t, http.StatusOK)
		health(srv, "203.0.113.1").WantStatus(t, http.StatusOK)
		wantLimited(t, health(srv, "203.0.113.1"), "health", 2)
		wantHeaders(t, health(srv, "203.0.113.2").WantStatus(t, http.StatusOK), "health", 2, 1)
		wantHeaders(t, health(srv, "198.51.100.7, 203.0.113.9").WantStatus(t, http.StatusOK), "health", 2, 1)
	})
}

// TestRateLimitApp: the wired app limits /health and /api/v1, never the
// probes or /metrics, and RATE_LIMITS_ENABLED=false turns limits off.
func TestRateLimitApp(t *testing.T) {
	t.Run("health scope and unlimited infrastructure", func(t *testing.T) {
		srv := testenv.Quick(t, "RATE_LIMIT_HEALTH", "3-M", "RATE_LIMIT_ANONYMOUS", "3-M")
		for i := range 3 {
			wantHeaders(t, srv.Get(t, "/health", "").WantStatus(t, http.StatusOK), "health", 3, 2-i)
		}
		wantLimited(t, srv.Get(t, "/health", ""), "health", 3)
		for _, path := range []string{"/health/live", "/health/ready", "/metrics"} {
			for range 10 {
				r := srv.Get(t, path, "").WantStatus(t, http.StatusOK)
				wantNoLimitHeaders(t, r)
			}
		}
		if got := testenv.MetricSum(t, srv.App.Registry(), "rate_limit_exceeded_total", map[string]string{"scope": "health"}); got != 1 {
			t.Errorf("rate_limit_exceeded_total{scope=health} = %v, want 1", got)
		}
	})
	t.Run("anonymous on /api/v1 before authentication", func(t *testing.T) {
		srv := testenv.Quick(t, "RATE_LIMIT_ANONYMOUS", "2-M")
		for range 2 {
			srv.Get(t, "/api/v1/auth/me", "").WantError(t, http.StatusUnauthorized, "auth.unauthorized")
		}
		wantLimited(t, srv.Get(t, "/api/v1/auth/me", ""), "anonymous", 2)
		// Unknown /api/v1 paths are not routes: no group middleware.
		srv.Get(t, "/api/v1/no-such-route", "").WantError(t, http.StatusNotFound, "resource.not_found")
	})
	t.Run("disabled", func(t *testing.T) {
		srv := testenv.Quick(t, "RATE_LIMITS_ENABLED", "false", "RATE_LIMIT_HEALTH", "1-M")
		for range 5 {
			wantNoLimitHeaders(t, srv.Get(t, "/health", "").WantStatus(t, http.StatusOK))
		}
	})
}

// emptyLogin sends a login without credentials: refused, and counted by
// the login scope.
func emptyLogin(t *testing.T, srv *testenv.Server) {
	t.Helper()
	srv.Post(t, "/api/v1/auth/login", "", map[string]string{}).WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
}

// TestRateLimitLoginAndUsers drives the real login and tokens: the login
// scope, and per-user budgets of real identities from one IP.
func TestRateLimitLoginAndUsers(t *testing.T) {
	t.Run("login", func(t *testing.T) {
		srv := testenv.Quick(t, "RATE_LIMIT_LOGIN", "4-M")
		emptyLogin(t, srv) // the probe is the first of 4
		for i := range 3 {
			r := srv.Post(t, "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": "admin123"})
			wantHeaders(t, r.WantStatus(t, http.StatusOK), "login", 4, 2-i)
		}
		wantLimited(t, srv.Post(t, "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": "admin123"}), "login", 4)
	})
	t.Run("users and IP", func(t *testing.T) {
		srv := testenv.Quick(t, "RATE_LIMIT_DEVELOPER", "3-M", "RATE_LIMIT_ANONYMOUS", "3-M", "RATE_LIMIT_LOGIN", "10-M")
		emptyLogin(t, srv)
		dev, op := srv.Token(t, "developer"), srv.Token(t, "operator")
		// Three logins so far, none of them anonymous requests.
		for i := range 3 {
			wantHeaders(t, srv.Get(t, "/api/v1/auth/me", "").WantStatus(t, http.StatusUnauthorized), "anonymous", 3, 2-i)
		}
		wantLimited(t, srv.Get(t, "/api/v1/auth/me", ""), "anonymous", 3)
		wantLimited(t, srv.Get(t, "/api/v1/auth/me", "forged.jwt.token"), "anonymous", 3)
		// The IP's anonymous budget is used up; login has its own.
		srv.Token(t, "observer")
		for range 3 {
			srv.Get(t, "/api/v1/auth/me", dev).WantStatus(t, http.StatusOK)
		}
		wantLimited(t, srv.Get(t, "/api/v1/auth/me", dev), "developer", 3)
		srv.Get(t, "/api/v1/auth/me", op).WantStatus(t, http.StatusOK)
	})
}

// TestRateLimitSharedAcrossServers: two servers on one Redis enforce one
// limit: RATE_LIMIT_LOGIN=5-M allows 5 logins in total, not 10.
func TestRateLimitSharedAcrossServers(t *testing.T) {
	if _, haveRedis, _ := testenv.External(); !haveRedis {
		t.Skip("TEST_REDIS_URL is not set: servers share no Redis, so a shared limit cannot be tested")
	}
	env := testenv.New(t, "RATE_LIMIT_LOGIN", "5-M", "RATE_LIMIT_HEALTH", "5-M")
	servers := []*testenv.Server{env.Start(t), env.Start(t)}
	t.Run("health", func(t *testing.T) {
		allowed := 0
		for i := range 10 {
			if servers[i%2].Get(t, "/health", "").Status != http.StatusTooManyRequests {
				allowed++
			}
		}
		if allowed != 5 {
			t.Errorf("%d of 10 /health requests across two servers passed, want 5", allowed)
		}
	})
	t.Run("login", func(t *testing.T) {
		emptyLogin(t, servers[0]) // counts as one
		allowed := 1
		for i := range 9 {
			r := servers[i%2].Post(t, "/api/v1/auth/login", "", map[string]string{"username": "observer", "password": "obs123"})
			switch r.Status {
			case http.StatusOK:
				allowed++
			case http.StatusTooManyRequests:
				wantLimited(t, r, "login", 5)
			default:
				t.Fatalf("login answered %d: %s", r.Status, r.Body)
			}
		}
		if allowed != 5 {
			t.Errorf("%d of 10 logins across two servers passed, want 5", allowed)
		}
	})
}

// TestRateLimitTwoProcesses: two server processes on one Redis (TEST_REDIS_URL,
// else a redis-server of the test's own) allow RATE_LIMIT_LOGIN=6-M logins
// in total, not 6 each, though RATE_LIMIT_ANONYMOUS=2-M is lower: login is
// limited by its own scope only. The anonymous limit still holds for the
// other routes, across both processes too.
func TestRateLimitTwoProcesses(t *testing.T) {
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		rs := testenv.NewRedisServer(t)
		rs.Start(t)
		url = rs.URL()
	}
	binary := testenv.BuildBinary(t)
	vars := map[string]string{
		"RATE_LIMIT_STORAGE_URI": url, "RATE_LIMIT_PREFIX": fmt.Sprintf("test:%d:rl", time.Now().UnixNano()),
		"RATE_LIMIT_LOGIN": "6-M", "RATE_LIMIT_ANONYMOUS": "2-M",
		"SEED_DEMO_USERS": "true", "BCRYPT_COST": "4", "LOG_LEVEL": "warn",
	}
	urlA, _ := testenv.StartProcess(t, binary, vars)
	urlB, _ := testenv.StartProcess(t, binary, vars)
	clients := []*testenv.Client{testenv.NewClient(urlA), testenv.NewClient(urlB)}
	count := func(what, scope string, limit int, send func(c *testenv.Client) *testenv.Response, passed int) int {
		t.Helper()
		allowed := 0
		for i := range 10 {
			r := send(clients[i%2])
			switch r.Status {
			case passed:
				allowed++
			case http.StatusTooManyRequests:
				wantLimited(t, r, scope, limit)
			default:
				t.Fatalf("%s %d answered %d: %s", what, i, r.Status, r.Body)
			}
		}
		return allowed
	}
	logins := count("login", "login", 6, func(c *testenv.Client) *testenv.Response {
		return c.Post(t, "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": "admin123"})
	}, http.StatusOK)
	if logins != 6 {
		t.Errorf("%d of 10 logins across two processes passed, want 6 (RATE_LIMIT_LOGIN)", logins)
	}
	anonymous := count("GET /auth/me", "anonymous", 2, func(c *testenv.Client) *testenv.Response {
		return c.Get(t, "/api/v1/auth/me", "")
	}, http.StatusUnauthorized)
	if anonymous != 2 {
		t.Errorf("%d of 10 anonymous requests across two processes passed, want 2 (RATE_LIMIT_ANONYMOUS)", anonymous)
	}
}

// TestRateLimitRedisOutage: the limiter's Redis is killed mid-test and
// restarted on the same port. Fail open serves requests unlimited, fail
// closed answers 503; the gauge says so; limits apply again after restart
// without restarting the service. A service started while Redis is down
// serves too and enforces limits once Redis starts.
func TestRateLimitRedisOutage(t *testing.T) {
	const limit = 3
	health := func(srv *testenv.Server) *testenv.Response { return srv.Get(t, "/health", "") }
	degraded := func(srv *testenv.Server) float64 {
		return testenv.MetricSum(t, srv.App.Registry(), "rate_limit_degraded", nil)
	}
	// enforcedAgain polls until an answer carries the limit headers (Redis
	// reached), then uses up the rest of the window and wants a 429.
	enforcedAgain := func(t *testing.T, srv *testenv.Server) {
		t.Helper()
		var r *testenv.Response
		testenv.Wait(t, 15*time.Second, "limits enforced again", func() bool {
			r = health(srv)
			return r.Header.Get("X-RateLimit-Limit") != ""
		})
		left, _ := strconv.Atoi(r.Header.Get("X-RateLimit-Remaining"))
		for range left {
			health(srv).WantStatus(t, http.StatusOK)
		}
		wantLimited(t, health(srv), "health", limit)
		if got := degraded(srv); got != 0 {
			t.Errorf("rate_limit_degraded = %v after recovery, want 0", got)
		}
	}
	for _, mode := range []string{"open", "closed"} {
		t.Run(mode, func(t *testing.T) {
			rs := testenv.NewRedisServer(t)
			rs.Start(t)
			srv := testenv.Quick(t, "RATE_LIMIT_STORAGE_URI", rs.URL(), "RATE_LIMIT_FAIL_MODE", mode,
				"RATE_LIMIT_HEALTH", fmt.Sprintf("%d-M", limit), "REDIS_CALL_TIMEOUT", "200ms")
			for i := range limit {
				wantHeaders(t, health(srv).WantStatus(t, http.StatusOK), "health", limit, limit-1-i)
			}
			wantLimited(t, health(srv), "health", limit)

			rs.Stop()
			start := time.Now()
			for range 5 {
				r := health(srv)
				if mode == "open" {
					wantNoLimitHeaders(t, r.WantStatus(t, http.StatusOK))
				} else {
					r.WantError(t, http.StatusServiceUnavailable, "service.unavailable")
				}
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("5 requests took %v while Redis was down (call timeout 200ms)", took)
			}
			if got := degraded(srv); got != 1 {
				t.Errorf("rate_limit_degraded = %v while Redis is down, want 1", got)
			}

			rs.Start(t)
			enforcedAgain(t, srv)
		})
	}
	t.Run("started while redis is down", func(t *testing.T) {
		rs := testenv.NewRedisServer(t)
		srv := testenv.Quick(t, "RATE_LIMIT_STORAGE_URI", rs.URL(), "RATE_LIMIT_HEALTH", fmt.Sprintf("%d-M", limit))
		for range limit + 2 {
			wantNoLimitHeaders(t, health(srv).WantStatus(t, http.StatusOK))
		}
		if got := degraded(srv); got != 1 {
			t.Errorf("rate_limit_degraded = %v while Redis is down, want 1", got)
		}
		rs.Start(t)
		enforcedAgain(t, srv)
	})
}

// BenchmarkRateLimitMiddleware is the cost of one request through the real
// router with limits off, on the memory store and on Redis (one role
// counter per request).
func BenchmarkRateLimitMiddleware(b *testing.B) {
	opts := rlOptions(b, map[string]string{"admin": "1000000000-M"})
	run := func(b *testing.B, h http.Handler) {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/rl/plain", nil)
		req.Header.Set("Authorization", "Bearer user:bench:admin")
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	}
	b.Run("off", func(b *testing.B) {
		h, _ := rlRouter(b, nil, opts, false)
		run(b, h)
	})
	b.Run("memory", func(b *testing.B) {
		h, _ := rlRouter(b, ratelimit.NewMemoryStore("bench"), opts, true)
		run(b, h)
	})
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	client, err := redisconn.NewBounded(url, 250*time.Millisecond)
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	if err := client.Ping(context.Background()).Err(); err != nil {
		b.Logf("no Redis at %s: Redis benchmark skipped", url)
		return
	}
	prefix := fmt.Sprintf("bench:rl:%d", time.Now().UnixNano())
	defer client.Del(context.Background(), prefix+":admin:user:bench")
	b.Run("redis", func(b *testing.B) {
		h, _ := rlRouter(b, ratelimit.NewRedisStore(client, prefix), opts, true)
		run(b, h)
	})
}
