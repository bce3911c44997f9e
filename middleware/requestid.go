// Package middleware holds the Gin middleware chain of DESIGN §3 and STYLE §7:
// request id → access log → metrics → recovery → error renderer → body limit →
// CORS → identify → rate limit, then per group authentication and permissions.
package middleware

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"

	"github.com/gin-gonic/gin"
)

// HeaderRequestID carries the request id in and out.
const HeaderRequestID = "X-Request-ID"

const ctxRequestID = "request_id"

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// RequestID accepts a well-formed X-Request-ID (1–128 of [A-Za-z0-9._-]) or
// generates one, and echoes it on every response.
func RequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(HeaderRequestID)
		if !validRequestID.MatchString(id) {
			id = newRequestID()
		}
		c.Set(ctxRequestID, id)
		c.Header(HeaderRequestID, id)
		c.Next()
	}
}

// RequestIDFrom returns the request id set by RequestID.
func RequestIDFrom(c *gin.Context) string { return c.GetString(ctxRequestID) }

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
