package apispec

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/errs"
)

// ErrorSchema is the model of every error answer (middleware.ErrorBody).
const ErrorSchema = "#/components/schemas/Error"

// exampleRequestID is the request_id of every error example.
const exampleRequestID = "4f1c2d3e5a6b7c8d9e0f1a2b3c4d5e6f"

// errorExample is an answer the server really gives for a code wherever the
// code occurs; it is published under components/examples/<name>.
type errorExample struct {
	name    string
	code    errs.Code
	summary string
	message string
	details map[string]any
}

// errorExamples are the answers of the codes whose message is the same on
// every route. An @Failure line that names such a code without a message
// gets all of its examples; a code not listed here (resource.not_found,
// state.conflict, ...) says something about one resource, so its @Failure
// line must give the message. handlers' TestSpecTellsTheTruth wants every
// example of every operation answered by that operation, message included
// (numbers and quoted values aside).
var errorExamples = []errorExample{
	{name: "validation.invalid_request", code: errs.CodeInvalidRequest,
		summary: "the body is not JSON",
		message: "malformed JSON: unexpected end of body"},
	{name: "auth.unauthorized", code: errs.CodeUnauthorized,
		summary: "no bearer token nor API key",
		message: "a valid bearer token or API key is required"},
	{name: "auth.unauthorized.invalid_token", code: errs.CodeUnauthorized,
		summary: "an invalid, expired or revoked token",
		message: "the bearer token is invalid, expired or revoked"},
	{name: "auth.invalid_credentials", code: errs.CodeInvalidCredentials,
		summary: "wrong username or password",
		message: "invalid username or password"},
	{name: "auth.forbidden", code: errs.CodeForbidden,
		summary: "the role lacks a permission (details.missing)",
		message: "your role lacks a required permission",
		details: map[string]any{"missing": []any{"budget.view"}, "role": "observer"}},
	{name: "budget.insufficient", code: errs.CodeBudgetInsufficient,
		summary: "the budget has fewer tokens available than requested",
		message: "not enough tokens available in this budget",
		details: map[string]any{"available": 500, "requested": 1500}},
	{name: "idempotency.conflict", code: errs.CodeIdempotencyClash,
		summary: "the idempotency key was used with other fields",
		message: "this idempotency key was already used with a different request",
		details: map[string]any{"idempotency_key": "req-7f3a"}},
	{name: "dlq.already_resolved", code: errs.CodeDLQResolved,
		summary: "the message is already resolved",
		message: "the DLQ message is already resolved"},
	{name: "request.too_large", code: errs.CodeTooLarge,
		summary: "the body is larger than MAX_BODY_BYTES",
		message: "request body exceeds 1048576 bytes",
		details: map[string]any{"max_bytes": 1048576}},
	{name: "validation.unprocessable_entity", code: errs.CodeUnprocessable,
		summary: "fields break their rules (details.errors)",
		message: "request validation failed",
		details: map[string]any{"errors": []any{map[string]any{"field": "estimated_tokens", "message": "is required"}}}},
	{name: "rate_limit.exceeded", code: errs.CodeRateLimited,
		summary: "a limit of the caller is used up (details.scope: its role, or the route's scope); Retry-After says when to retry",
		message: "rate limit exceeded: 5 requests allowed in this window (scope anonymous); retry in 42 s",
		details: map[string]any{"scope": "anonymous", "limit": 5, "remaining": 0, "reset_at": "2026-01-02T15:05:00Z"}},
	{name: "internal.error", code: errs.CodeInternal,
		summary: "an unexpected failure; the message never holds its cause",
		message: "internal server error"},
	{name: "service.unavailable", code: errs.CodeUnavailable,
		summary: "Redis is down and RATE_LIMIT_FAIL_MODE=closed",
		message: "rate limiting is temporarily unavailable; retry shortly"},
}

// failure is one "code[: message]" of an @Failure description.
type failure struct {
	code    errs.Code
	message string
}

// parseFailures reads the description of an @Failure line that answers the
// Error model: `code`, or `code: the message the server sends`, several
// separated by " | ".
func parseFailures(desc string) ([]failure, error) {
	var out []failure
	for part := range strings.SplitSeq(desc, "|") {
		code, msg, _ := strings.Cut(strings.TrimSpace(part), ":")
		// swag keeps the backslash of an escaped quote.
		msg = strings.ReplaceAll(strings.TrimSpace(msg), `\"`, `"`)
		f := failure{code: errs.Code(strings.TrimSpace(code)), message: msg}
		if f.code == "" {
			return nil, fmt.Errorf("empty error code in %q", desc)
		}
		if strings.ContainsAny(string(f.code), " \t") || !known(f.code) {
			return nil, fmt.Errorf("%q is not an error code (services/errs); the description must be `code`, `code: message` or several joined by ` | `", f.code)
		}
		out = append(out, f)
	}
	return out, nil
}

// known reports whether code is one of the codes of services/errs.
func known(code errs.Code) bool {
	return code == errs.CodeInternal || middleware.StatusOf(code) != http.StatusInternalServerError
}

// applyErrorExamples gives every error answer that refers to the Error model
// the examples of its codes and a description naming them. An answer of
// another model (the health report of a 503) whose description goes on with
// " | code..." may also be an Error: it becomes oneOf both.
func applyErrorExamples(doc *openapi3.T) []error {
	doc.Components.Examples = openapi3.Examples{}
	for _, e := range errorExamples {
		doc.Components.Examples[e.name] = &openapi3.ExampleRef{Value: &openapi3.Example{
			Summary: e.summary, Value: errorValue(e.code, e.message, e.details),
		}}
	}
	var problems []error
	operations(doc, func(key string, op *openapi3.Operation) {
		responses := op.Responses.Map()
		for _, status := range sortedKeys(responses) {
			resp := responses[status]
			code, err := strconv.Atoi(status)
			if err != nil || code < 400 || resp.Value == nil || resp.Value.Description == nil {
				continue
			}
			errorsAsJSON(resp.Value)
			media := resp.Value.Content.Get("application/json")
			if media == nil || media.Schema == nil {
				continue
			}
			desc := *resp.Value.Description
			prefix := ""
			if media.Schema.Ref != ErrorSchema {
				var alt bool
				if prefix, desc, alt = strings.Cut(desc, "|"); !alt {
					continue
				}
				prefix = strings.TrimSpace(prefix) + "; or "
				media.Schema = &openapi3.SchemaRef{Value: &openapi3.Schema{
					OneOf: openapi3.SchemaRefs{media.Schema, {Ref: ErrorSchema, Value: doc.Components.Schemas["Error"].Value}},
				}}
			}
			if err := describeError(doc, resp.Value, media, code, desc); err != nil {
				problems = append(problems, fmt.Errorf("%s: @Failure %d: %w", key, code, err))
			}
			text := prefix + *resp.Value.Description
			resp.Value.Description = &text
		}
	})
	return problems
}

// errorsAsJSON files an Error answer under application/json: swag gives every
// answer of an operation its @Produce type, but errors are always JSON (GET
// /metrics produces text/plain).
func errorsAsJSON(resp *openapi3.Response) {
	for mt, media := range resp.Content {
		if mt != "application/json" && media.Schema != nil && media.Schema.Ref == ErrorSchema {
			delete(resp.Content, mt)
			resp.Content["application/json"] = media
		}
	}
}

func describeError(doc *openapi3.T, resp *openapi3.Response, media *openapi3.MediaType, status int, desc string) error {
	failures, err := parseFailures(desc)
	if err != nil {
		return err
	}
	media.Examples = openapi3.Examples{}
	var codes []string
	for _, f := range failures {
		if got := middleware.StatusOf(f.code); got != status {
			return fmt.Errorf("%s is answered with %d, not %d", f.code, got, status)
		}
		if c := "`" + string(f.code) + "`"; !slices.Contains(codes, c) {
			codes = append(codes, c)
		}
		if f.message == "" {
			n := 0
			for _, e := range errorExamples {
				if e.code == f.code {
					media.Examples[e.name] = &openapi3.ExampleRef{Ref: "#/components/examples/" + e.name, Value: doc.Components.Examples[e.name].Value}
					n++
				}
			}
			if n == 0 {
				return fmt.Errorf("%s says something about this route: write the message the server sends, as %q", f.code, string(f.code)+": <message>")
			}
			continue
		}
		name := string(f.code)
		for i := 2; media.Examples[name] != nil; i++ {
			name = fmt.Sprintf("%s (%d)", f.code, i)
		}
		media.Examples[name] = &openapi3.ExampleRef{Value: &openapi3.Example{
			Summary: f.message, Value: errorValue(f.code, f.message, nil),
		}}
	}
	text := "Error " + strings.Join(codes, " or ")
	resp.Description = &text
	return nil
}

func errorValue(code errs.Code, message string, details map[string]any) map[string]any {
	v := map[string]any{"error_code": string(code), "message": message, "request_id": exampleRequestID}
	if details != nil {
		v["details"] = details
	}
	return v
}
