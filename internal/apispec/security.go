package apispec

import (
	"github.com/getkin/kin-openapi/openapi3"
)

// Annotated is the scheme name handlers give in `@Security BearerAuth`. swag
// v1 can only declare Swagger 2.0 schemes, so main.go declares none and the
// real schemes come from credentials below.
const Annotated = "BearerAuth"

// credentials are the ways a client may authenticate, in the order the
// Authorize dialog lists them. Every operation annotated `@Security
// BearerAuth` accepts any one of them, so a new kind of credential is one
// more line here.
var credentials = []struct {
	name   string
	scheme *openapi3.SecurityScheme
}{
	{Annotated, &openapi3.SecurityScheme{
		Type: "http", Scheme: "bearer", BearerFormat: "JWT",
		Description: "The `token` of POST /api/v1/auth/login, or an API key (`gak_…`, from POST /api/v1/keys), sent as `Authorization: Bearer <token>`. In the Authorize dialog, paste the token alone.",
	}},
	{"ApiKeyAuth", &openapi3.SecurityScheme{
		Type: "apiKey", In: "header", Name: "X-API-Key",
		Description: "An API key (`gak_…`, shown once by POST /api/v1/keys or `control-plane apikeys create`) in the `X-API-Key` header, for clients that cannot send `Authorization: Bearer gak_…`. The key acts with its own role, tenant and project.",
	}},
}

// applySecurity declares the credentials and lets every secured operation
// take any of them; the others declare that they need none.
func applySecurity(doc *openapi3.T) {
	doc.Components.SecuritySchemes = openapi3.SecuritySchemes{}
	anyOf := openapi3.SecurityRequirements{}
	for _, c := range credentials {
		doc.Components.SecuritySchemes[c.name] = &openapi3.SecuritySchemeRef{Value: c.scheme}
		anyOf = append(anyOf, openapi3.SecurityRequirement{c.name: []string{}})
	}
	operations(doc, func(_ string, op *openapi3.Operation) {
		if op.Security == nil {
			op.Security = &openapi3.SecurityRequirements{} // public, and saying so
			return
		}
		for _, req := range *op.Security {
			if _, ok := req[Annotated]; ok {
				reqs := anyOf
				op.Security = &reqs
				return
			}
		}
	})
}
