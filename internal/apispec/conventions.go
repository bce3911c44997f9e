package apispec

import (
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// rateLimitHeaders are sent on the 2xx and 429 answers of a rate-limited
// operation; Retry-After also on its 429, and on the 503 of a limiter whose
// store is down. They describe the limit closest to refusing, named by
// X-RateLimit-Scope.
var rateLimitHeaders = []struct {
	name, description string
	schema            *openapi3.Schema
}{
	{"X-RateLimit-Scope", "The limit the other X-RateLimit-* headers describe, the one of those that apply with the fewest requests left: the caller's role (anonymous, admin, ...) or the route's scope (login, budget_request, breaker_reset, health). RATE_LIMIT_<SCOPE> sets it; a 429 names the same scope in details.scope.",
		openapi3.NewStringSchema()},
	{"X-RateLimit-Limit", "Requests allowed in the current window of that scope.", openapi3.NewIntegerSchema().WithMin(0)},
	{"X-RateLimit-Remaining", "Requests left in the current window.", openapi3.NewIntegerSchema().WithMin(0)},
	{"X-RateLimit-Reset", "Unix time (seconds) when the window resets.", openapi3.NewIntegerSchema().WithMin(0)},
}

const retryAfter = "Retry-After"

// applyRateLimitHeaders declares the rate-limit headers once, under
// components/headers, and refers to them from every operation that documents
// a 429: being rate limited is what a 429 says, so the annotations need no
// Header annotations for them.
func applyRateLimitHeaders(doc *openapi3.T) {
	header := func(desc string, schema *openapi3.Schema) *openapi3.HeaderRef {
		return &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
			Description: desc, Schema: schema.NewRef(),
		}}}
	}
	doc.Components.Headers = openapi3.Headers{
		retryAfter: header("Seconds to wait before retrying.", openapi3.NewIntegerSchema().WithMin(0)),
	}
	for _, h := range rateLimitHeaders {
		doc.Components.Headers[h.name] = header(h.description, h.schema)
	}
	ref := func(name string) *openapi3.HeaderRef {
		return &openapi3.HeaderRef{Ref: "#/components/headers/" + name, Value: doc.Components.Headers[name].Value}
	}

	operations(doc, func(_ string, op *openapi3.Operation) {
		if op.Responses.Value("429") == nil {
			return
		}
		for status, resp := range op.Responses.Map() {
			code, err := strconv.Atoi(status)
			if err != nil || resp.Value == nil {
				continue
			}
			limited := (code >= 200 && code < 300) || code == 429
			retry := code == 429 || code == 503
			if !limited && !retry {
				continue
			}
			if resp.Value.Headers == nil {
				resp.Value.Headers = openapi3.Headers{}
			}
			if limited {
				for _, h := range rateLimitHeaders {
					resp.Value.Headers[h.name] = ref(h.name)
				}
			}
			if retry {
				resp.Value.Headers[retryAfter] = ref(retryAfter)
			}
		}
	})
}

// markReadOnly sets readOnly on every property of the models that only
// answers contain: the server sets all of them. A model that requests use
// too marks its server-set fields itself (`readonly:"true"` struct tag).
func markReadOnly(doc *openapi3.T) {
	inRequests := map[string]bool{}
	var walk func(s *openapi3.SchemaRef)
	walk = func(s *openapi3.SchemaRef) {
		if s == nil {
			return
		}
		if name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/"); ok {
			if inRequests[name] {
				return
			}
			inRequests[name] = true
			walk(doc.Components.Schemas[name])
			return
		}
		if s.Value == nil {
			return
		}
		for _, p := range s.Value.Properties {
			walk(p)
		}
		walk(s.Value.Items)
		walk(s.Value.AdditionalProperties.Schema)
		for _, l := range []openapi3.SchemaRefs{s.Value.AllOf, s.Value.OneOf, s.Value.AnyOf} {
			for _, sub := range l {
				walk(sub)
			}
		}
	}
	operations(doc, func(_ string, op *openapi3.Operation) {
		for _, p := range op.Parameters {
			if p.Value != nil {
				walk(p.Value.Schema)
			}
		}
		if op.RequestBody != nil && op.RequestBody.Value != nil {
			for _, m := range op.RequestBody.Value.Content {
				walk(m.Schema)
			}
		}
	})
	for name, s := range doc.Components.Schemas {
		if inRequests[name] || s.Value == nil {
			continue
		}
		for _, p := range s.Value.Properties {
			if p.Value != nil && p.Ref == "" {
				p.Value.ReadOnly = true
			}
		}
	}
}
