package middleware

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/services/errs"
)

// allowedHeaders are the request headers browser code may send: every header
// the API reads (TestCORS checks each header parameter of the spec is here)
// and the W3C trace context, which the gateway passes upstream.
var allowedHeaders = []string{
	"Authorization", "Content-Type", "Idempotency-Key", "If-Match",
	HeaderAPIKey, HeaderRequestID, "X-Tenant-ID", "X-Project-ID",
	"traceparent", "tracestate",
}

// exposedHeaders are the answer headers browser code may read beyond the
// CORS-safelisted ones: the request id (to quote in a bug report), the
// rate-limit state, a replayed idempotent answer, and a task's ETag (for the
// next If-Match). TestCORS checks every answer header of the spec is here.
var exposedHeaders = []string{
	HeaderRequestID, "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Scope",
	"Retry-After", "Idempotency-Replayed", "ETag",
}

// CORS allows the listed origins with credentials, allowedHeaders and
// exposedHeaders. With no origins it adds nothing, so same-origin and
// non-browser clients are unaffected.
//
// A preflight (OPTIONS with Access-Control-Request-Method) from an allowed
// origin is answered 204 here, before authentication, rate limits and routing
// can answer 401, 429, 404 or 405. A request from any other cross origin is
// refused with 403 auth.forbidden in the one error shape (gin-contrib/cors
// alone would answer a bare 403 without a body).
//
// It refuses "*" (credentials are always allowed, and browsers reject a
// wildcard with credentials) and origins that are not scheme://host[:port],
// which would never equal a browser's Origin header.
func CORS(origins []string) (gin.HandlerFunc, error) {
	if len(origins) == 0 {
		return func(c *gin.Context) { c.Next() }, nil
	}
	allowed := make(map[string]bool, len(origins))
	for _, o := range origins {
		if err := validOrigin(o); err != nil {
			return nil, fmt.Errorf("CORS_ALLOW_ORIGINS: %w", err)
		}
		allowed[o] = true
	}
	apply := cors.New(cors.Config{
		AllowOrigins:     origins,
		AllowMethods:     []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
		AllowHeaders:     allowedHeaders,
		ExposeHeaders:    exposedHeaders,
		AllowCredentials: true,
		MaxAge:           12 * time.Hour,
	})
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin != "" && !allowed[origin] && !sameOrigin(c.Request, origin) {
			_ = c.Error(errs.Newf(errs.CodeForbidden, "origin %q is not allowed (CORS_ALLOW_ORIGINS)", origin))
			c.Abort()
			return
		}
		apply(c)
	}, nil
}

// sameOrigin reports a browser sending Origin on a same-origin request, which
// gin-contrib/cors lets through without CORS headers.
func sameOrigin(r *http.Request, origin string) bool {
	return origin == "http://"+r.Host || origin == "https://"+r.Host
}

func validOrigin(o string) error {
	if o == "*" {
		return fmt.Errorf(`"*" cannot be combined with credentials; list the allowed origins`)
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("origin %q must be scheme://host[:port] with scheme http or https and no path", o)
	}
	return nil
}
