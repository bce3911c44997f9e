// Package handlers is the HTTP surface: Gin handlers with their swag
// annotations, request and response types, and the route table. Handlers bind
// and validate input, call one service method, and either write the answer or
// attach the error for the one error renderer.
//
// The swag block of each handler is the API description (make docs writes
// docs/openapi.json from it); README "Documenting an endpoint" has the
// conventions, and docs_truth_test.go holds every documented answer to what
// the router really says.
package handlers

import (
	"crypto/subtle"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/ratelimit"
)

// RouteLimiter supplies the rate-limit middleware: Role limits every request
// of Resources by the caller's role (or IP when anonymous); Scope adds a
// per-route limit named by one of the ratelimit.Scope* constants.
type RouteLimiter interface {
	Role() gin.HandlerFunc
	Scope(name string) gin.HandlerFunc
}

// Resource is one group of /api/v1 routes.
type Resource interface {
	Register(api *gin.RouterGroup, limits RouteLimiter)
}

// Deps is everything the router needs, built by the app package.
type Deps struct {
	Log            *slog.Logger
	Version        string
	MaxBodyBytes   int64
	CORSOrigins    []string
	TrustedProxies []string
	HTTPMetrics    *middleware.HTTPMetrics
	Metrics        http.Handler
	MetricsToken   string
	Verifier       middleware.TokenVerifier
	Limits         RouteLimiter
	Health         *Health
	// Root registers routes outside /api/v1 (e.g. the JWKS document).
	Root []func(r *gin.Engine)
	// Resources register their routes under /api/v1, where every request
	// counts against the caller's role limit (and its route scope, if any).
	Resources []Resource
	// Public register routes under /api/v1 that their own route scope
	// alone limits: POST /auth/login, so that RATE_LIMIT_LOGIN is the limit
	// of login and a lower RATE_LIMIT_ANONYMOUS cannot refuse it first.
	// Each route must carry its limits.Scope.
	Public []func(api *gin.RouterGroup, limits RouteLimiter)
}

// NewRouter builds the Gin engine with the fixed middleware order of STYLE §7.
func NewRouter(d Deps) (*gin.Engine, error) {
	setUpValidator()
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// Gin would answer "/x/" with a bare 301/307 written before any
	// middleware: no request id, no error shape, no log line. A 404 in the
	// one shape is clearer for API clients.
	r.RedirectTrailingSlash = false
	r.ContextWithFallback = true
	r.RemoveExtraSlash = true
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		return nil, err
	}
	limits := d.Limits
	if limits == nil {
		limits = NoLimits{}
	}
	corsPolicy, err := middleware.CORS(d.CORSOrigins)
	if err != nil {
		return nil, err
	}
	r.Use(
		middleware.RequestID(),
		middleware.SecurityHeaders(),
		middleware.TraceContext(),
		// The probes: polled every few seconds, logged at debug.
		middleware.AccessLog(d.Log, "/health", "/health/live", "/health/ready", "/metrics"),
		d.HTTPMetrics.Handler(),
		middleware.Recovery(d.Log),
		middleware.Errors(d.Log),
		middleware.BodyLimit(d.MaxBodyBytes),
		corsPolicy,
		middleware.Identify(d.Verifier),
	)
	r.NoRoute(middleware.NotFound)
	r.NoMethod(middleware.MethodNotAllowed)

	r.GET("/", d.Health.Root)
	r.GET("/health", limits.Scope(ratelimit.ScopeHealth), d.Health.Check)
	r.GET("/health/live", d.Health.Live)
	r.GET("/health/ready", d.Health.Ready)
	r.GET("/metrics", metricsAuth(d.MetricsToken), serveMetrics(d.Metrics))

	docsUI, err := swaggerUI(d.Version)
	if err != nil {
		return nil, err
	}
	r.GET("/docs", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/docs/index.html") })
	r.GET("/docs/*any", docsUI)
	if err := registerConsole(r); err != nil {
		return nil, err
	}

	for _, register := range d.Root {
		register(r)
	}
	api := r.Group("/api/v1")
	for _, register := range d.Public {
		register(api, limits)
	}
	limited := api.Group("", limits.Role(), checkPathParams())
	for _, res := range d.Resources {
		res.Register(limited, limits)
	}
	return r, nil
}

// metricsAuth requires the bearer token when METRICS_BEARER_TOKEN is set.
func metricsAuth(token string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if token == "" {
			return
		}
		got, _ := middleware.BearerToken(c)
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			c.Header("WWW-Authenticate", `Bearer realm="metrics"`)
			_ = c.Error(errs.New(errs.CodeUnauthorized, "the metrics bearer token is missing or wrong"))
			c.Abort()
		}
	}
}

// NoLimits is the RouteLimiter used when rate limiting is off.
type NoLimits struct{}

// Role implements RouteLimiter.
func (NoLimits) Role() gin.HandlerFunc { return func(*gin.Context) {} }

// Scope implements RouteLimiter.
func (NoLimits) Scope(string) gin.HandlerFunc { return func(*gin.Context) {} }
