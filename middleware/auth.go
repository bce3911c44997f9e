package middleware

import (
	"context"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/errs"
)

const (
	ctxIdentity = "identity"
	// ctxVerifyErr keeps a verification failure that is not the token's fault
	// (the revocation store or the database is down), so Authenticated can
	// answer 503/500 instead of blaming the token with 401.
	ctxVerifyErr = "identity.error"
)

// TokenVerifier checks a bearer token: signature, claims, expiry, revocation.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (auth.Identity, error)
}

// HeaderAPIKey carries an API key ("gak_…") as the alternative to
// "Authorization: Bearer gak_…".
const HeaderAPIKey = "X-API-Key" // #nosec G101 -- a header name, not a credential

// Identify verifies the credential when one is present — a bearer token
// (a JWT or an API key) or an X-API-Key header — and remembers the
// identity. It never rejects: an invalid credential leaves the request
// anonymous (rate limited by IP), and Authenticated answers 401 where one
// is needed. A verification that failed for an infrastructure reason (the
// database or the revocation store is down) is remembered instead: the rate
// limits answer it (503) rather than count the caller as anonymous, and so
// does Authenticated.
func Identify(v TokenVerifier) gin.HandlerFunc {
	if v == nil {
		return func(c *gin.Context) { c.Next() }
	}
	return func(c *gin.Context) {
		if token, ok := credential(c); ok {
			id, err := v.Verify(c.Request.Context(), token)
			switch {
			case err == nil:
				c.Set(ctxIdentity, id)
			case !errs.Is(err, errs.CodeUnauthorized):
				c.Set(ctxVerifyErr, err)
			}
		}
		c.Next()
	}
}

// verifyFailure is the infrastructure failure of Identify, if any.
func verifyFailure(c *gin.Context) (error, bool) {
	v, ok := c.Get(ctxVerifyErr)
	if !ok {
		return nil, false
	}
	err, ok := v.(error)
	return err, ok
}

// BearerToken returns the token of an "Authorization: Bearer <token>" header.
func BearerToken(c *gin.Context) (string, bool) {
	h := c.GetHeader("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// credential is the bearer token, else the API key of X-API-Key. The header
// takes API keys only: a JWT in it is not verified.
func credential(c *gin.Context) (string, bool) {
	if token, ok := BearerToken(c); ok {
		return token, true
	}
	key := strings.TrimSpace(c.GetHeader(HeaderAPIKey))
	if !strings.HasPrefix(key, auth.APIKeyPrefix) {
		return "", false
	}
	return key, true
}

// IdentityFrom returns the verified identity of the request, if any.
func IdentityFrom(c *gin.Context) (auth.Identity, bool) {
	v, ok := c.Get(ctxIdentity)
	if !ok {
		return auth.Identity{}, false
	}
	id, ok := v.(auth.Identity)
	return id, ok
}

// Authenticated answers 401 auth.unauthorized unless a valid token was presented.
func Authenticated() gin.HandlerFunc {
	return func(c *gin.Context) {
		if _, ok := IdentityFrom(c); !ok {
			if err, failed := verifyFailure(c); failed {
				_ = c.Error(err)
				c.Abort()
				return
			}
			msg := "a valid bearer token or API key is required"
			if _, present := BearerToken(c); present {
				msg = "the bearer token is invalid, expired or revoked"
			} else if c.GetHeader(HeaderAPIKey) != "" {
				msg = "the API key is invalid, expired or revoked"
			}
			_ = c.Error(errs.New(errs.CodeUnauthorized, msg))
			c.Abort()
			return
		}
		c.Next()
	}
}

// Require answers 403 auth.forbidden with details.missing unless the identity
// has every permission. It runs after Authenticated.
func Require(perms ...auth.Permission) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, _ := IdentityFrom(c)
		if missing := id.Missing(perms...); len(missing) > 0 {
			_ = c.Error(errs.New(errs.CodeForbidden, "your role lacks a required permission").
				WithDetails(map[string]any{"missing": missing, "role": id.Role}))
			c.Abort()
			return
		}
		c.Next()
	}
}

// PlatformOnly answers 403 auth.forbidden unless the identity is a platform
// principal (bound to no tenant). It guards the platform-level endpoints of
// DESIGN §7 (dead letters, breakers, audit, configuration, tenants) after
// Require: 403 rather than 404, because the existence of a platform endpoint
// is no secret, and the message says why a permission alone does not do.
func PlatformOnly() gin.HandlerFunc {
	return func(c *gin.Context) {
		id, _ := IdentityFrom(c)
		if !id.Platform() {
			_ = c.Error(errs.New(errs.CodeForbidden, "this endpoint is platform-level: only accounts bound to no tenant may use it").
				WithDetails(map[string]any{"tenant_id": id.TenantID}))
			c.Abort()
			return
		}
		c.Next()
	}
}
