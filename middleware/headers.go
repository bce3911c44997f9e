package middleware

import (
	"strings"

	"github.com/gin-gonic/gin"
)

// apiPrefix is where the answers carry credentials or data of one caller.
const apiPrefix = "/api/v1"

// SecurityHeaders sets, before anything else can answer, the headers every
// answer of the API must carry whatever it is (a token, an error, a 404 of an
// unknown route): Cache-Control: no-store, so no shared or browser cache keeps
// a token (RFC 6749 §5.1, which also asks for Pragma: no-cache) or a
// tenant's data, and X-Content-Type-Options:
// nosniff, so a browser never runs a JSON answer as something else. nosniff
// goes on every answer; no-store on /api/v1 only, since the JWKS document and
// the docs are meant to be cached.
func SecurityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if p := c.Request.URL.Path; p == apiPrefix || strings.HasPrefix(p, apiPrefix+"/") {
			h.Set("Cache-Control", "no-store")
			h.Set("Pragma", "no-cache") // RFC 6749 §5.1, for HTTP/1.0 caches
		}
		c.Next()
	}
}
