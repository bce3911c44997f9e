package apispec

import (
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// rateLimitHeaders are sent on the 2xx and 429 answers of a rate-limited
// operation; Retry-After also on its 429, and on the 503 of a limiter whose
// store is down.
var rateLimitHeaders = []struct{ name, description string }{
	{"X-RateLimit-Limit", "Requests allowed in the current window (the tightest of the limits that apply)."},
	{"X-RateLimit-Remaining", "Requests left in the current window."},
	{"X-RateLimit-Reset", "Unix time (seconds) when the window resets."},
}

const retryAfter = "Retry-After"

// applyRateLimitHeaders declares the rate-limit headers once, under
// components/headers, and refers to them from every operation that documents
// a 429: being rate limited is what a 429 says, so the annotations need no
// Header annotations for them.
func applyRateLimitHeaders(doc *openapi3.T) {
	integer := func(desc string) *openapi3.HeaderRef {
		return &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
			Description: desc, Schema: openapi3.NewIntegerSchema().WithMin(0).NewRef(),
		}}}
	}
	doc.Components.Headers = openapi3.Headers{
		retryAfter: integer("Seconds to wait before retrying."),
	}
	for _, h := range rateLimitHeaders {
		doc.Components.Headers[h.name] = integer(h.description)
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
