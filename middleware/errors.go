package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/services/errs"
)

// statusOf is the one table from error code to HTTP status.
var statusOf = map[errs.Code]int{
	errs.CodeInvalidRequest:     http.StatusBadRequest,
	errs.CodeUnauthorized:       http.StatusUnauthorized,
	errs.CodeInvalidCredentials: http.StatusUnauthorized,
	errs.CodeForbidden:          http.StatusForbidden,
	errs.CodeNotFound:           http.StatusNotFound,
	errs.CodeMethodNotAllowed:   http.StatusMethodNotAllowed,
	errs.CodeConflict:           http.StatusConflict,
	errs.CodeBudgetInsufficient: http.StatusConflict,
	errs.CodeIdempotencyClash:   http.StatusConflict,
	errs.CodeDLQResolved:        http.StatusConflict,
	errs.CodeTooLarge:           http.StatusRequestEntityTooLarge,
	errs.CodeUnprocessable:      http.StatusUnprocessableEntity,
	errs.CodeRateLimited:        http.StatusTooManyRequests,
	errs.CodeInternal:           http.StatusInternalServerError,
	errs.CodeUnavailable:        http.StatusServiceUnavailable,
}

// StatusOf returns the HTTP status of an error code (500 when unknown).
func StatusOf(code errs.Code) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorBody is the one error shape of every non-2xx answer.
type ErrorBody struct {
	// ErrorCode is stable; clients switch on it (see the codes in the API description).
	ErrorCode string `json:"error_code" enums:"validation.invalid_request,validation.unprocessable_entity,auth.unauthorized,auth.invalid_credentials,auth.forbidden,resource.not_found,request.method_not_allowed,state.conflict,budget.insufficient,idempotency.conflict,dlq.already_resolved,request.too_large,rate_limit.exceeded,internal.error,service.unavailable" example:"validation.unprocessable_entity"`
	// Message is for people; it never contains internal details.
	Message string `json:"message" example:"request validation failed"`
	// Details is present for some codes: errors (422), missing (403), available/requested (budget.insufficient), scope/limit/reset_at (429).
	Details   map[string]any `json:"details,omitempty" swaggertype:"object"`
	RequestID string         `json:"request_id" example:"4f1c2d3e5a6b7c8d9e0f1a2b3c4d5e6f"`
} // @name Error

// Errors renders the last error a handler attached with c.Error. Errors that
// are not *errs.Error are logged here, once, and answered as 500 internal.error
// without their text.
func Errors(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if len(c.Errors) == 0 || c.Writer.Written() {
			return
		}
		WriteError(c, log, c.Errors.Last().Err)
	}
}

// StatusClientClosedRequest is the status recorded (in the access log and
// http_requests_total) for a request whose client went away before the answer
// was ready: nobody reads it, and it is neither the server's fault nor the
// client's input, so it must not count as a 5xx. The code is nginx's.
const StatusClientClosedRequest = 499

// WriteError writes err in the one shape and aborts the chain.
func WriteError(c *gin.Context, log *slog.Logger, err error) {
	if errors.Is(c.Request.Context().Err(), context.Canceled) {
		// The client closed the connection; err is most likely only the echo
		// of that cancellation in a database or Redis call. Kept at Info with
		// its error in case it was not.
		log.InfoContext(c.Request.Context(), "client closed the request",
			slog.String("request_id", RequestIDFrom(c)), slog.String("route", Route(c)), slog.Any("error", err))
		c.AbortWithStatus(StatusClientClosedRequest)
		return
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		log.ErrorContext(c.Request.Context(), "internal error",
			slog.String("request_id", RequestIDFrom(c)), slog.String("route", Route(c)), slog.Any("error", err))
		e = errs.New(errs.CodeInternal, "internal server error")
	} else if e.Code == errs.CodeInternal || e.Code == errs.CodeUnavailable {
		log.WarnContext(c.Request.Context(), string(e.Code),
			slog.String("request_id", RequestIDFrom(c)), slog.String("route", Route(c)), slog.Any("error", err))
	}
	c.AbortWithStatusJSON(StatusOf(e.Code), ErrorBody{
		ErrorCode: string(e.Code),
		Message:   e.Message,
		Details:   e.Details,
		RequestID: RequestIDFrom(c),
	})
}

// NotFound answers unknown routes with 404 resource.not_found.
func NotFound(c *gin.Context) {
	_ = c.Error(errs.New(errs.CodeNotFound, "no route for "+c.Request.Method+" "+c.Request.URL.Path))
}

// MethodNotAllowed answers a known path with a wrong method.
func MethodNotAllowed(c *gin.Context) {
	_ = c.Error(errs.Newf(errs.CodeMethodNotAllowed, "method %s is not allowed here", c.Request.Method))
}
