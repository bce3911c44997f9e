package middleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/services/errs"
)

// Recovery turns a panic into 500 internal.error with the stack in the log and
// nothing internal in the body. It sits inside access log and metrics so the
// request is still logged and counted.
func Recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			log.ErrorContext(c.Request.Context(), "panic",
				slog.String("request_id", RequestIDFrom(c)),
				slog.String("route", Route(c)),
				slog.String("panic", fmt.Sprint(rec)),
				slog.String("stack", string(debug.Stack())))
			if c.Writer.Written() {
				c.Abort()
				return
			}
			c.AbortWithStatusJSON(http.StatusInternalServerError, ErrorBody{
				ErrorCode: string(errs.CodeInternal),
				Message:   "internal server error",
				RequestID: RequestIDFrom(c),
			})
		}()
		c.Next()
	}
}
