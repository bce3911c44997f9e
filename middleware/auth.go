package middleware

import (
	"context"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/errs"
)

const ctxIdentity = "identity"

// TokenVerifier checks a bearer token: signature, claims, expiry, revocation.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (auth.Identity, error)
}

// Identify verifies a bearer token when one is present and remembers the
// identity. It never rejects: an invalid token leaves the request anonymous
// (rate limited by IP), and Authenticated answers 401 where a token is needed.
func Identify(v TokenVerifier) gin.HandlerFunc {
	if v == nil {
		return func(c *gin.Context) { c.Next() }
	}
	return func(c *gin.Context) {
		if token, ok := BearerToken(c); ok {
			if id, err := v.Verify(c.Request.Context(), token); err == nil {
				c.Set(ctxIdentity, id)
			}
		}
		c.Next()
	}
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
			msg := "a valid bearer token is required"
			if _, present := BearerToken(c); present {
				msg = "the bearer token is invalid, expired or revoked"
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
