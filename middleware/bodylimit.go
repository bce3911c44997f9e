package middleware

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/services/errs"
)

// BodyLimit refuses bodies over max bytes: at once when Content-Length says so,
// otherwise when the handler reads past the limit (the binder reports 413).
func BodyLimit(max int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > max {
			_ = c.Error(TooLarge(max))
			c.Abort()
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, max)
		c.Next()
	}
}

// TooLarge is the 413 error for a body over max bytes.
func TooLarge(max int64) *errs.Error {
	return errs.New(errs.CodeTooLarge, fmt.Sprintf("request body exceeds %d bytes", max)).
		WithDetails(map[string]any{"max_bytes": max})
}
