package middleware

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/ratelimit"
)

// ctxRateLimit keeps, per request, the counter closest to exhaustion, so the
// X-RateLimit-* headers describe it even though the role and route limits
// run as separate middlewares.
const ctxRateLimit = "ratelimit.closest"

// The X-RateLimit-* headers in the canonical form that http.Header.Set would
// make of them (and send), set directly: Set allocates a canonical copy of
// such a name on every call.
const (
	headerScope     = "X-Ratelimit-Scope"
	headerLimit     = "X-Ratelimit-Limit"
	headerRemaining = "X-Ratelimit-Remaining"
	headerReset     = "X-Ratelimit-Reset"
)

// Limiter counts requests against the configured limits
// (ratelimit.Limiter implements it).
type Limiter interface {
	Role(ctx context.Context, role, key string) (ratelimit.Result, error)
	Scope(ctx context.Context, name, key string) (ratelimit.Result, error)
	Own(ctx context.Context, key string, limit int64, period time.Duration) (ratelimit.Result, error)
	HasScope(name string) bool
	ScopePerIP(name string) bool
}

var _ Limiter = (*ratelimit.Limiter)(nil)

// RateLimits is the router's RouteLimiter backed by a Limiter. It runs after
// Identify: a verified token is limited as its user and role, any other
// request (no token, or one that does not verify) as its client IP.
type RateLimits struct {
	limiter Limiter
	now     func() time.Time
}

// NewRateLimits returns the rate-limit middleware of l.
func NewRateLimits(l Limiter) *RateLimits {
	return &RateLimits{limiter: l, now: time.Now}
}

// Role limits every request by the caller's role: a verified user by its
// id, an API key by its id, anyone else as "anonymous" by client IP. An API
// key with a rate limit of its own is limited by that instead of its role's.
func (r *RateLimits) Role() gin.HandlerFunc {
	return func(c *gin.Context) {
		if unverified(c) {
			return
		}
		role, key := string(auth.RoleAnonymous), ratelimit.IPKey(c.ClientIP())
		if id, ok := IdentityFrom(c); ok {
			role, key = string(id.Role), principalKey(id)
			if id.KeyRate.Limit > 0 {
				res, err := r.limiter.Own(c.Request.Context(), key, id.KeyRate.Limit, id.KeyRate.Period)
				r.apply(c, res, err)
				return
			}
		}
		res, err := r.limiter.Role(c.Request.Context(), role, key)
		r.apply(c, res, err)
	}
}

// principalKey is the counter key of a verified caller: its API key, or
// its user.
func principalKey(id auth.Identity) string {
	if id.KeyID != "" {
		return ratelimit.APIKeyKey(id.KeyID)
	}
	return ratelimit.UserKey(id.UserID)
}

// Scope adds the per-route limit name. An unknown name is a wiring mistake
// and panics when the route table is built, like a duplicate Gin route.
func (r *RateLimits) Scope(name string) gin.HandlerFunc {
	if !r.limiter.HasScope(name) {
		panic(fmt.Sprintf("middleware: rate limit scope %q is not configured", name))
	}
	perIP := r.limiter.ScopePerIP(name)
	return func(c *gin.Context) {
		if unverified(c) {
			return
		}
		key := ratelimit.IPKey(c.ClientIP())
		if id, ok := IdentityFrom(c); ok && !perIP {
			key = principalKey(id)
		}
		res, err := r.limiter.Scope(c.Request.Context(), name, key)
		r.apply(c, res, err)
	}
}

// unverified answers the request with the infrastructure failure of its
// token's verification, if there was one: the caller presented a token that
// could not be checked, so it is neither anonymous (whose per-IP limit every
// client behind one NAT shares) nor known, and counting it would be wrong
// either way. The answer is the failure's own (503 service.unavailable).
func unverified(c *gin.Context) bool {
	err, failed := verifyFailure(c)
	if !failed {
		return false
	}
	if _, ok := IdentityFrom(c); ok {
		return false
	}
	c.Header("Retry-After", "1")
	_ = c.Error(err)
	c.Abort()
	return true
}

// apply sets the headers and rejects the request when the limit is reached.
func (r *RateLimits) apply(c *gin.Context, res ratelimit.Result, err error) {
	if err != nil {
		r.unavailable(c, err)
		return
	}
	if !res.Enforced {
		return // the store is down and FAIL_MODE=open: served without limits
	}
	if prev, ok := c.Get(ctxRateLimit); !ok || res.Reached || res.Remaining < prev.(ratelimit.Result).Remaining {
		c.Set(ctxRateLimit, res)
		h := c.Writer.Header()
		h[headerScope] = []string{res.Scope}
		h[headerLimit] = []string{strconv.FormatInt(res.Limit, 10)}
		h[headerRemaining] = []string{strconv.FormatInt(res.Remaining, 10)}
		h[headerReset] = []string{strconv.FormatInt(res.Reset.Unix(), 10)}
	}
	if !res.Reached {
		return
	}
	retry := max(res.Reset.Unix()-r.now().Unix(), 1)
	c.Header("Retry-After", strconv.FormatInt(retry, 10))
	_ = c.Error(errs.Newf(errs.CodeRateLimited, "rate limit exceeded: %d requests allowed in this window (scope %s); retry in %d s",
		res.Limit, res.Scope, retry).
		WithDetails(map[string]any{
			"scope":     res.Scope,
			"limit":     res.Limit,
			"remaining": 0,
			"reset_at":  res.Reset.UTC().Format(time.RFC3339),
		}))
	c.Abort()
}

// unavailable answers 503 in the one error shape when the store is down and
// FAIL_MODE=closed. It writes the answer itself instead of going through
// Errors, which logs every 503: during an outage that would be one log line
// per request, while the limiter already logs the outage once.
func (r *RateLimits) unavailable(c *gin.Context, err error) {
	var e *errs.Error
	if !errors.As(err, &e) {
		// Not a store outage: the request was cancelled while counting.
		_ = c.Error(errs.Wrap(errs.CodeUnavailable, "the request was cancelled", err))
		c.Abort()
		return
	}
	c.Header("Retry-After", "1")
	c.AbortWithStatusJSON(StatusOf(e.Code), ErrorBody{
		ErrorCode: string(e.Code), Message: e.Message, RequestID: RequestIDFrom(c),
	})
}
