package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/breaker"
	"github.com/golden-architecture/control-plane/services/ratelimit"
)

// wireRateLimits builds the limiter on Redis (RATE_LIMIT_STORAGE_URI, shared
// by every replica) or on process memory (embedded mode) and sets
// deps.Limits. RATE_LIMITS_ENABLED=false leaves the routes unlimited.
func (a *App) wireRateLimits(deps *handlers.Deps) error {
	if !a.cfg.RateLimitsEnabled {
		a.log.Warn("rate limiting is disabled (RATE_LIMITS_ENABLED=false): no request is limited")
		deps.Limits = handlers.NoLimits{}
		return nil
	}
	opts, err := rateLimitOptions(a.cfg)
	if err != nil {
		return err
	}
	opts.Log = a.log
	opts.Metrics = ratelimit.NewMetrics(a.registry, rateLimitScopes(opts)...)
	opts.Guard = a.breakerGuard(breaker.Redis) // a pass-through without Redis

	var store ratelimit.Store
	if uri := a.cfg.RateLimitStorageURI; uri != "" {
		client, err := ratelimit.NewRedisClient(uri, a.cfg.RedisCallTimeout)
		if err != nil {
			return err
		}
		a.workers = append(a.workers, func(ctx context.Context) {
			<-ctx.Done()
			if err := client.Close(); err != nil {
				a.log.Warn("closing the rate limit redis client", slog.Any("error", err))
			}
		})
		store = ratelimit.NewRedisStore(client, a.cfg.RateLimitPrefix)
		a.log.Info("rate limits", slog.String("store", "redis"), slog.String("addr", client.Options().Addr),
			slog.String("fail_mode", a.cfg.RateLimitFailMode), slog.Duration("call_timeout", a.cfg.RedisCallTimeout))
	} else {
		store = ratelimit.NewMemoryStore(a.cfg.RateLimitPrefix)
		a.log.Info("rate limits", slog.String("store", "in-process memory (single instance)"))
	}
	limiter, err := ratelimit.New(store, opts)
	if err != nil {
		return err
	}
	deps.Limits = middleware.NewRateLimits(limiter)
	return nil
}

// rateLimitOptions turns the RATE_LIMIT_* variables into limiter options.
func rateLimitOptions(cfg config.Config) (ratelimit.Options, error) {
	l := cfg.RateLimits
	opts := ratelimit.Options{
		Roles:       map[string]ratelimit.Rate{},
		Scopes:      map[string]ratelimit.Scope{},
		FailMode:    ratelimit.FailMode(cfg.RateLimitFailMode),
		CallTimeout: cfg.RedisCallTimeout,
	}
	roles := map[auth.Role]struct{ name, rate string }{
		auth.RoleAdmin:     {"RATE_LIMIT_ADMIN", l.Admin},
		auth.RoleOperator:  {"RATE_LIMIT_OPERATOR", l.Operator},
		auth.RoleDeveloper: {"RATE_LIMIT_DEVELOPER", l.Developer},
		auth.RoleObserver:  {"RATE_LIMIT_OBSERVER", l.Observer},
		auth.RoleAnonymous: {"RATE_LIMIT_ANONYMOUS", l.Anonymous},
	}
	for role, v := range roles {
		r, err := ratelimit.ParseRate(v.rate)
		if err != nil {
			return opts, fmt.Errorf("%s: %w", v.name, err)
		}
		opts.Roles[string(role)] = r
	}
	scopes := map[string]struct {
		name, rate string
		perIP      bool
	}{
		ratelimit.ScopeLogin:         {"RATE_LIMIT_LOGIN", l.Login, true},
		ratelimit.ScopeBudgetRequest: {"RATE_LIMIT_BUDGET_REQUEST", l.BudgetRequest, false},
		ratelimit.ScopeBreakerReset:  {"RATE_LIMIT_BREAKER_RESET", l.BreakerReset, false},
		ratelimit.ScopeHealth:        {"RATE_LIMIT_HEALTH", l.Health, false},
	}
	for scope, v := range scopes {
		r, err := ratelimit.ParseRate(v.rate)
		if err != nil {
			return opts, fmt.Errorf("%s: %w", v.name, err)
		}
		opts.Scopes[scope] = ratelimit.Scope{Rate: r, PerIP: v.perIP}
	}
	return opts, nil
}

// rateLimitScopes are the metric label values: the roles and route scopes.
func rateLimitScopes(opts ratelimit.Options) []string {
	var out []string
	for _, r := range auth.Roles() {
		out = append(out, string(r))
	}
	for _, s := range []string{ratelimit.ScopeLogin, ratelimit.ScopeBudgetRequest, ratelimit.ScopeBreakerReset, ratelimit.ScopeHealth} {
		if _, ok := opts.Scopes[s]; ok {
			out = append(out, s)
		}
	}
	return out
}

var _ handlers.RouteLimiter = (*middleware.RateLimits)(nil)
