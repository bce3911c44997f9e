// Package docs holds the API description that `make docs` generates from the
// handlers' swag annotations (go run ./cmd/openapi): openapi.json and
// openapi.yaml, OpenAPI 3.1. The hand-written guides sit beside them.
package docs

import _ "embed"

// OpenAPI is openapi.json, served at /docs/openapi.json; read it, never
// change it.
//
//go:embed openapi.json
var OpenAPI []byte
