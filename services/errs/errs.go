// Package errs is the one error vocabulary of the service. Services return an
// *Error carrying a stable code (such as "budget.insufficient"), a message that
// is safe to show to a client, and optional details; one middleware turns the
// code into an HTTP status. Any other error is an internal error whose text is
// never shown to a client.
package errs

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Code is a stable, documented error identifier that clients may switch on.
type Code string

// The codes of DESIGN §4. middleware maps each to exactly one HTTP status.
const (
	CodeInvalidRequest     Code = "validation.invalid_request"
	CodeUnprocessable      Code = "validation.unprocessable_entity"
	CodeUnauthorized       Code = "auth.unauthorized"
	CodeInvalidCredentials Code = "auth.invalid_credentials" // #nosec G101 -- an error code, not a credential
	CodeForbidden          Code = "auth.forbidden"
	CodeNotFound           Code = "resource.not_found"
	CodeMethodNotAllowed   Code = "request.method_not_allowed"
	CodeConflict           Code = "state.conflict"
	CodeBudgetInsufficient Code = "budget.insufficient"
	CodeIdempotencyClash   Code = "idempotency.conflict"
	CodeDLQResolved        Code = "dlq.already_resolved"
	CodeTooLarge           Code = "request.too_large"
	CodeRateLimited        Code = "rate_limit.exceeded"
	CodeInternal           Code = "internal.error"
	CodeUnavailable        Code = "service.unavailable"
)

// Error is an error a client may see. Cause is kept for logs and errors.Is/As
// but never rendered.
type Error struct {
	Code    Code
	Message string
	Details map[string]any
	Cause   error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap exposes the cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Cause }

// New returns an error with a code and a client-safe message.
func New(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Newf is New with a formatted message.
func Newf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with a code and message that keeps cause for the log.
func Wrap(code Code, msg string, cause error) *Error {
	return &Error{Code: code, Message: msg, Cause: cause}
}

// WithDetails returns a copy of e with details set.
func (e *Error) WithDetails(details map[string]any) *Error {
	c := *e
	c.Details = details
	return &c
}

// FieldError is one failed rule of a request field, listed in details.errors of
// a 422 answer.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Validation returns a 422 error listing every failed field.
func Validation(fields ...FieldError) *Error {
	return &Error{
		Code:    CodeUnprocessable,
		Message: "request validation failed",
		Details: map[string]any{"errors": fields},
	}
}

// Fields collects every failed rule of one input, so that a client learns all
// of them in one 422. Services embed it in their own collector to add their
// domain rules.
type Fields []FieldError

// Add records one failed rule of field.
func (f *Fields) Add(field, msg string) {
	*f = append(*f, FieldError{Field: field, Message: msg})
}

// Text checks a free-text field: at most max characters, no control
// characters but tab and newlines; a required one must not be blank.
func (f *Fields) Text(field, v string, max int, required bool) {
	switch {
	case required && strings.TrimSpace(v) == "":
		f.Add(field, "must not be blank")
	case utf8.RuneCountInString(v) > max:
		f.Add(field, fmt.Sprintf("must be at most %d characters", max))
	case strings.ContainsFunc(v, func(r rune) bool { return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f }):
		f.Add(field, "must not contain control characters")
	}
}

// Err is the 422 listing every recorded rule, nil when none failed.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return Validation(f...)
}

// Is reports whether err carries code.
func Is(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
