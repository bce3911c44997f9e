// Package apispec generates the API description, docs/openapi.json and
// docs/openapi.yaml (OpenAPI 3.1), from the swag annotations of the handlers.
//
// swag v1 reads the annotations and builds a Swagger 2.0 document in memory;
// kin-openapi's openapi2conv turns it into OpenAPI 3.0 and openapi3conv into
// 3.1; then the conventions that Swagger 2.0 cannot express are applied here:
// the security schemes (security.go), one example per error code and
// message on every error answer (errors.go), the rate-limit headers, and
// readOnly on the models only the server sends. swag's own v2 generator
// (OpenAPI 3.1) is still a release candidate with known output bugs, while
// the v1 parser is the one the annotations were written for; converting its
// output keeps the annotations as they are and lets one Go program own every
// convention, so `make docs` needs nothing but Go.
package apispec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"path/filepath"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3conv"
	"github.com/goccy/go-yaml"
	"github.com/swaggo/swag"
)

// Version is the OpenAPI version of the generated document.
const Version = "3.1.0"

// Files are the generated documents, byte for byte as committed in docs/.
type Files struct {
	JSON []byte // docs/openapi.json
	YAML []byte // docs/openapi.yaml
}

// Names of the generated files in docs/.
const (
	JSONFile = "openapi.json"
	YAMLFile = "openapi.yaml"
)

// Generate parses the annotations of the module rooted at root (main.go
// holds the general API information) and returns the OpenAPI 3.1 documents.
func Generate(root string) (Files, error) {
	sw, err := parseAnnotations(root)
	if err != nil {
		return Files{}, err
	}
	doc, err := toOpenAPI3(sw)
	if err != nil {
		return Files{}, err
	}
	if err := applyConventions(doc); err != nil {
		return Files{}, err
	}
	openapi3conv.Upgrade(doc)
	doc.OpenAPI = Version
	if err := Validate(context.Background(), doc); err != nil {
		return Files{}, fmt.Errorf("the generated document is not valid OpenAPI %s: %w", Version, err)
	}
	return marshal(doc)
}

// parseAnnotations runs swag's parser as `swag init -g main.go` would, with
// every field required unless its json tag says omitempty.
func parseAnnotations(root string) ([]byte, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	p := swag.New(
		swag.ParseUsingGoList(true),
		swag.SetCollectionFormat("csv"),
		// The TypeScript client's node_modules holds no Go code.
		swag.SetExcludedDirsAndFiles("clients"),
		swag.SetDebugger(log.New(io.Discard, "", 0)),
	)
	p.PropNamingStrategy = swag.CamelCase
	p.RequiredByDefault = true
	if err := p.ParseAPIMultiSearchDir([]string{abs}, "main.go", 100); err != nil {
		return nil, fmt.Errorf("swag: %w", err)
	}
	return json.Marshal(p.GetSwagger())
}

func toOpenAPI3(swagger2 []byte) (*openapi3.T, error) {
	var doc2 openapi2.T
	if err := json.Unmarshal(swagger2, &doc2); err != nil {
		return nil, fmt.Errorf("read swag's document: %w", err)
	}
	doc, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		return nil, fmt.Errorf("convert to OpenAPI 3: %w", err)
	}
	return doc, nil
}

// Validate checks doc as OpenAPI 3.1, examples included.
func Validate(ctx context.Context, doc *openapi3.T) error {
	return doc.Validate(ctx, openapi3.EnableExamplesValidation(), openapi3.EnableSchemaFormatValidation())
}

// Load reads a generated document and resolves its references.
func Load(data []byte) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, err
	}
	if !doc.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("openapi %q, want %s", doc.OpenAPI, Version)
	}
	return doc, nil
}

// applyConventions turns swag's document into the one clients get. Every
// problem of the annotations is reported at once.
func applyConventions(doc *openapi3.T) error {
	var problems []error
	problems = append(problems, checkSchemaNames(doc)...)
	problems = append(problems, checkOperationIDs(doc)...)
	dropGoExtensions(doc)
	applySecurity(doc)
	problems = append(problems, applyErrorExamples(doc)...)
	applyRateLimitHeaders(doc)
	markReadOnly(doc)
	return errors.Join(problems...)
}

// checkSchemaNames wants every model named for the API: swag names a type
// after its Go package ("handlers.BudgetRequestBody") unless the type's
// closing brace carries a `// @name BudgetRequest` comment.
func checkSchemaNames(doc *openapi3.T) []error {
	var problems []error
	for _, name := range sortedKeys(doc.Components.Schemas) {
		if strings.Contains(name, ".") {
			problems = append(problems, fmt.Errorf("model %s is named after its Go package: end its type with `} // @name %s` (a name for API clients)",
				name, name[strings.LastIndex(name, ".")+1:]))
		}
	}
	return problems
}

// checkOperationIDs wants an `@ID` on every operation, unique: client
// generators name their functions after it.
func checkOperationIDs(doc *openapi3.T) []error {
	var problems []error
	seen := map[string]string{}
	operations(doc, func(key string, op *openapi3.Operation) {
		switch other, dup := seen[op.OperationID]; {
		case op.OperationID == "":
			problems = append(problems, fmt.Errorf("%s: no @ID (the operationId client generators name the call after, e.g. listReservations)", key))
		case dup:
			problems = append(problems, fmt.Errorf("%s: @ID %s is taken by %s", key, op.OperationID, other))
		default:
			seen[op.OperationID] = key
		}
	})
	return problems
}

// goExtensions are what swag and openapi2conv add about the Go code or the
// 2.0 document; clients have no use for them.
var goExtensions = []string{"x-enum-varnames", "x-enum-comments", "x-enum-descriptions", "x-originalParamName"}

func dropGoExtensions(doc *openapi3.T) {
	for _, s := range doc.Components.Schemas {
		for _, x := range goExtensions {
			delete(s.Value.Extensions, x)
		}
	}
	operations(doc, func(_ string, op *openapi3.Operation) {
		if op.RequestBody != nil && op.RequestBody.Value != nil {
			for _, x := range goExtensions {
				delete(op.RequestBody.Value.Extensions, x)
			}
		}
	})
}

// operations calls fn for every operation, in a stable order.
func operations(doc *openapi3.T, fn func(key string, op *openapi3.Operation)) {
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		ops := item.Operations()
		for _, method := range sortedKeys(ops) {
			fn(method+" "+path, ops[method])
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// marshal writes indented JSON (keys sorted, no HTML escaping) and the same
// document as YAML.
func marshal(doc *openapi3.T) (Files, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return Files{}, err
	}
	y, err := yaml.JSONToYAML(buf.Bytes())
	if err != nil {
		return Files{}, fmt.Errorf("yaml: %w", err)
	}
	return Files{JSON: buf.Bytes(), YAML: y}, nil
}
