package app

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/platform/redisconn"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/breaker"
	"github.com/golden-architecture/control-plane/services/ratelimit"
)

// wireRateLimits builds the limiter on Redis (RATE_LIMIT_STORAGE_URI, shared
// by every replica) or on process memory (embedded mode) and sets
// deps.Limits, and on the same store the API keys' tokens-per-minute
// limiter of the LLM gateway. RATE_LIMITS_ENABLED=false leaves the routes
// and the keys' tokens unlimited.
func (a *App) wireRateLimits(deps *handlers.Deps) error {
	if !a.cfg.RateLimitsEnabled {
		a.log.Warn("rate limiting is disabled (RATE_LIMITS_ENABLED=false): no request is limited")
		deps.Limits = handlers.NoLimits{}
		return nil
	}
	opts := rateLimitOptions(a.cfg)
	opts.Log = a.log
	// The metric's label values: every configured scope, and that of the API
	// keys' own limits (set per key, not by a variable).
	opts.Metrics = ratelimit.NewMetrics(a.registry, append(rateLimitScopes(opts), ratelimit.ScopeAPIKey, ratelimit.ScopeTokensPerMinute)...)
	opts.Guard = a.breakerGuard(breaker.Redis) // a pass-through without Redis

	var store ratelimit.Store
	var tokens ratelimit.TokenStore
	if uri := a.cfg.RateLimitStorageURI; uri != "" {
		client, err := redisconn.NewBounded(uri, a.cfg.RedisCallTimeout)
		if err != nil {
			return fmt.Errorf("RATE_LIMIT_STORAGE_URI: %w", err)
		}
		a.limiterRedis = client // closed by Close
		store = ratelimit.NewRedisStore(client, a.cfg.RateLimitPrefix)
		tokens = ratelimit.NewRedisTokenStore(client, a.cfg.RateLimitPrefix)
		a.log.Info("rate limits", slog.String("store", "redis"), slog.String("addr", client.Options().Addr),
			slog.String("fail_mode", a.cfg.RateLimitFailMode), slog.Int64("call_timeout_ms", a.cfg.RedisCallTimeout.Milliseconds()))
	} else {
		store = ratelimit.NewMemoryStore(a.cfg.RateLimitPrefix)
		tokens = ratelimit.NewMemoryTokenStore(nil)
		a.log.Info("rate limits", slog.String("store", "in-process memory (single instance)"))
	}
	limiter, err := ratelimit.New(store, opts)
	if err != nil {
		return err
	}
	a.tokenLimits, err = ratelimit.NewTokens(tokens, ratelimit.TokensOptions{
		FailMode: opts.FailMode, CallTimeout: opts.CallTimeout, Guard: opts.Guard, Log: a.log, Metrics: opts.Metrics,
	})
	if err != nil {
		return err
	}
	deps.Limits = middleware.NewRateLimits(limiter)
	return nil
}

// rateLimitOptions turns the typed RATE_LIMIT_* settings into limiter
// options. RATE_LIMIT_<SCOPE> is the limit of the scope of that name, in
// lower case: a role or a route scope.
func rateLimitOptions(cfg config.Config) ratelimit.Options {
	l := cfg.RateLimits
	return ratelimit.Options{
		Roles: map[string]ratelimit.Rate{
			string(auth.RoleAdmin):     rate(l.Admin),
			string(auth.RoleOperator):  rate(l.Operator),
			string(auth.RoleDeveloper): rate(l.Developer),
			string(auth.RoleObserver):  rate(l.Observer),
			string(auth.RoleAnonymous): rate(l.Anonymous),
		},
		Scopes: map[string]ratelimit.Scope{
			ratelimit.ScopeLogin:         {Rate: rate(l.Login), PerIP: true},
			ratelimit.ScopeBudgetRequest: {Rate: rate(l.BudgetRequest)},
			ratelimit.ScopeBreakerReset:  {Rate: rate(l.BreakerReset)},
			ratelimit.ScopeHealth:        {Rate: rate(l.Health)},
		},
		FailMode:    ratelimit.FailMode(cfg.RateLimitFailMode),
		CallTimeout: cfg.RedisCallTimeout,
	}
}

func rate(r config.Rate) ratelimit.Rate {
	return ratelimit.Rate{Formatted: r.String(), Period: r.Period, Limit: r.Limit}
}

// rateLimitScopes are the scopes that RATE_LIMIT_* set: the roles and the
// route scopes.
func rateLimitScopes(opts ratelimit.Options) []string {
	out := slices.Sorted(maps.Keys(opts.Roles))
	return append(out, slices.Sorted(maps.Keys(opts.Scopes))...)
}

var _ handlers.RouteLimiter = (*middleware.RateLimits)(nil)
