// Package ratelimit counts requests per client in fixed windows and says when
// a client has used up its budget. The counters live in a shared store (Redis,
// so every replica enforces one limit) or in process memory (embedded mode).
// When the shared store fails, the limiter either lets requests through (fail
// open, the default) or refuses them (fail closed), and reports the degraded
// state once per transition in the log and in the rate_limit_degraded gauge.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ulule/limiter/v3"

	"github.com/golden-architecture/control-plane/services/errs"
)

// Rate is a limit in ulule/limiter's format: Limit requests per Period.
type Rate = limiter.Rate

// FailMode says what happens to requests while the store does not answer.
type FailMode string

// The two fail modes of RATE_LIMIT_FAIL_MODE.
const (
	// FailOpen serves requests without limits while the store is down.
	FailOpen FailMode = "open"
	// FailClosed answers 503 service.unavailable while the store is down.
	FailClosed FailMode = "closed"
)

// Scope is a per-route limit. On /api/v1 it is counted in addition to the
// caller's role limit, except on the routes registered outside the role
// limit (login), where it is the only limit.
type Scope struct {
	Rate Rate
	// PerIP keys the scope by client IP even for authenticated callers (login:
	// the caller has no identity yet, and a token must not buy more attempts).
	PerIP bool
}

// Options configure a Limiter.
type Options struct {
	// Roles is the per-role limit on /api/v1 requests, by role name, which
	// is also the name of its scope; it must contain "anonymous", which
	// also applies to unknown roles.
	Roles map[string]Rate
	// Scopes are the per-route limits by name; a name may not be a role's.
	Scopes map[string]Scope
	// FailMode defaults to FailOpen.
	FailMode FailMode
	// CallTimeout bounds each store call (default 250ms).
	CallTimeout time.Duration
	// Guard wraps each store call (the circuit breaker); nil passes through.
	Guard Guard
	// Log receives the degraded/recovered transitions.
	Log *slog.Logger
	// Metrics records rejections and the degraded state; nil records nothing.
	Metrics *Metrics
}

// anonymous is the role of callers without a verified token.
const anonymous = "anonymous"

// Result is the state of one counter after counting a request.
type Result struct {
	// Scope names the limit: the role ("anonymous", "admin", ...) for a role
	// limit, else the route scope. It is the name in store keys, in the 429
	// answer, in the X-RateLimit-Scope header and in the metric's scope
	// label, and RATE_LIMIT_<SCOPE> sets the limit.
	Scope string
	// Limit is the number of requests allowed per window.
	Limit int64
	// Remaining is how many more requests the window allows.
	Remaining int64
	// Reset is when the window ends, rounded up to the second.
	Reset time.Time
	// Reached reports that this request is over the limit.
	Reached bool
	// Enforced is false when the store failed and the request passes unlimited.
	Enforced bool
}

// Limiter counts requests against the configured limits.
type Limiter struct {
	store    Store
	guard    Guard
	roles    map[string]Rate
	scopes   map[string]Scope
	failMode FailMode
	timeout  time.Duration
	log      *slog.Logger
	metrics  *Metrics
	degraded atomic.Bool
}

// New returns a limiter over store.
func New(store Store, opts Options) (*Limiter, error) {
	if store == nil {
		return nil, errors.New("ratelimit: nil store")
	}
	if _, ok := opts.Roles[anonymous]; !ok {
		return nil, errors.New("ratelimit: no rate for the anonymous role")
	}
	for name := range opts.Scopes {
		if name == ScopeAPIKey {
			return nil, fmt.Errorf("ratelimit: route scope %q is the scope of API keys' own limits", name)
		}
		if _, ok := opts.Roles[name]; ok {
			return nil, fmt.Errorf("ratelimit: route scope %q is also a role: they would share counters", name)
		}
	}
	l := &Limiter{
		store:    store,
		guard:    opts.Guard,
		roles:    opts.Roles,
		scopes:   opts.Scopes,
		failMode: opts.FailMode,
		timeout:  opts.CallTimeout,
		log:      opts.Log,
		metrics:  opts.Metrics,
	}
	if l.guard == nil {
		l.guard = PassThrough
	}
	switch l.failMode {
	case "":
		l.failMode = FailOpen
	case FailOpen, FailClosed:
	default:
		return nil, fmt.Errorf("ratelimit: unknown fail mode %q", opts.FailMode)
	}
	if l.timeout <= 0 {
		l.timeout = 250 * time.Millisecond
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	return l, nil
}

// HasScope reports whether a route scope of that name is configured.
func (l *Limiter) HasScope(name string) bool {
	_, ok := l.scopes[name]
	return ok
}

// ScopePerIP reports whether the scope is always keyed by client IP.
func (l *Limiter) ScopePerIP(name string) bool { return l.scopes[name].PerIP }

// Degraded reports whether the last store call failed.
func (l *Limiter) Degraded() bool { return l.degraded.Load() }

// Role counts a request against the limit of role ("anonymous" when the
// caller has no verified token; an unknown role is limited as anonymous).
// key is UserKey or IPKey.
func (l *Limiter) Role(ctx context.Context, role, key string) (Result, error) {
	rate, ok := l.roles[role]
	if !ok {
		role, rate = anonymous, l.roles[anonymous]
	}
	return l.take(ctx, role, key, rate)
}

// Own counts a request of an API key against the key's own limit, which
// replaces its role's: scope ScopeAPIKey, key APIKeyKey(id).
func (l *Limiter) Own(ctx context.Context, key string, limit int64, period time.Duration) (Result, error) {
	return l.take(ctx, ScopeAPIKey, key, Rate{Limit: limit, Period: period, Formatted: fmt.Sprintf("%d-%s", limit, period)})
}

// Scope counts a request against the route scope name. key is UserKey or
// IPKey; callers use IPKey when ScopePerIP(name).
func (l *Limiter) Scope(ctx context.Context, name, key string) (Result, error) {
	s, ok := l.scopes[name]
	if !ok {
		return Result{}, fmt.Errorf("ratelimit: unknown scope %q", name)
	}
	return l.take(ctx, name, key, s.Rate)
}

// take counts one request against the counter of scope and key.
func (l *Limiter) take(ctx context.Context, scope, key string, rate Rate) (Result, error) {
	var lc limiter.Context
	err := l.guard(ctx, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, l.timeout)
		defer cancel()
		var err error
		lc, err = l.store.Get(ctx, scope+":"+key, rate)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			// The caller went away: says nothing about the store.
			return Result{}, ctx.Err()
		}
		l.setDegraded(true, err)
		if l.failMode == FailClosed {
			return Result{}, errs.Wrap(errs.CodeUnavailable, "rate limiting is temporarily unavailable; retry shortly", err)
		}
		return Result{Scope: scope}, nil
	}
	l.setDegraded(false, nil)
	res := Result{
		Scope:     scope,
		Limit:     lc.Limit,
		Remaining: lc.Remaining,
		// ulule truncates the window end to the second; round it up so a
		// client that waits until Reset always finds a fresh window.
		Reset:    time.Unix(lc.Reset+1, 0),
		Reached:  lc.Reached,
		Enforced: true,
	}
	if res.Reached {
		l.metrics.exceeded(scope)
	}
	return res, nil
}

// setDegraded records a transition once: a log line and the gauge.
func (l *Limiter) setDegraded(down bool, cause error) {
	if l.degraded.Load() == down || !l.degraded.CompareAndSwap(!down, down) {
		return
	}
	l.metrics.setDegraded(down)
	if down {
		l.log.Warn("rate limit store is failing; limits are not enforced",
			slog.String("fail_mode", string(l.failMode)), slog.Any("error", cause))
		return
	}
	l.log.Info("rate limit store answers again; limits are enforced")
}
