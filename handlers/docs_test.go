package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/internal/apispec"
	"github.com/golden-architecture/control-plane/internal/testenv"
)

// The API description is generated from the swag annotations by `make docs`
// (internal/apispec); these tests keep it valid, complete and in step with
// the routes the server really has. A new route without a full swag block,
// or a swag block for a route that is gone, fails here; docs_truth_test.go
// then holds every documented answer to what the server really says.

const (
	committedSpec = "../docs/openapi.json"
	apiPrefix     = "/api/v1/"
	security      = apispec.Annotated
)

// undocumentedRoutes are served but deliberately absent from the spec.
var undocumentedRoutes = map[string]string{
	"GET /docs":          "redirect to the Swagger UI",
	"GET /docs/{any}":    "the Swagger UI and the API description itself",
	"GET /console":       "redirect to the operator console",
	"GET /console/{any}": "the operator console's page, script and stylesheet",
}

// publicOperations are /api/v1 operations that need no bearer token.
var publicOperations = map[string]string{
	"POST /api/v1/auth/login": "it is how a token is obtained",
}

// nonJSONOperations answer 2xx in another media type than JSON.
var nonJSONOperations = map[string]string{
	"GET /metrics": "text/plain", // Prometheus text exposition format
}

// nonErrorAnswers are non-2xx answers whose body is not (only) the Error model.
var nonErrorAnswers = map[string]string{
	"GET /health 503":       "the health report itself, with the failing component (or an Error of its rate limiter)",
	"GET /health/ready 503": "the readiness report, with the failing check",
}

// operation is one operation of the spec under its full path.
type operation struct {
	method string // GET, POST, ...
	path   string // /api/v1/dlq/{id}
	op     *openapi3.Operation
}

func (o operation) key() string { return o.method + " " + o.path }

// responses are the documented answers by status.
func (o operation) responses() map[int]*openapi3.Response {
	out := map[int]*openapi3.Response{}
	for status, r := range o.op.Responses.Map() {
		if code, err := strconv.Atoi(status); err == nil && r.Value != nil {
			out[code] = r.Value
		}
	}
	return out
}

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	raw, err := os.ReadFile(committedSpec)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := apispec.Load(raw)
	if err != nil {
		t.Fatalf("load %s: %v", committedSpec, err)
	}
	return doc
}

// operations lists the spec's operations by "METHOD /full/path".
func operations(t *testing.T, doc *openapi3.T) map[string]operation {
	t.Helper()
	out := map[string]operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			o := operation{method: method, path: path, op: op}
			out[o.key()] = o
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s has no operations", committedSpec)
	}
	return out
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// routes lists the routes of the real router as "METHOD /path/{param}".
func routes(t *testing.T, srv *testenv.Server) []string {
	t.Helper()
	engine, ok := srv.App.Handler().(*gin.Engine)
	if !ok {
		t.Fatalf("App.Handler() is %T, want *gin.Engine", srv.App.Handler())
	}
	var out []string
	for _, r := range engine.Routes() {
		out = append(out, r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}"))
	}
	slices.Sort(out)
	return out
}

func sortedKeys[K interface{ ~string | ~int }, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestSpecIsValidOpenAPI validates docs/openapi.json as OpenAPI 3.1 with
// kin-openapi: schema, references, and every example against its schema.
// (.ci/run also lints it with Redocly's independent validator.)
func TestSpecIsValidOpenAPI(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	if doc.OpenAPI != apispec.Version {
		t.Errorf("openapi = %q, want %s", doc.OpenAPI, apispec.Version)
	}
	if err := apispec.Validate(context.Background(), doc); err != nil {
		t.Errorf("docs/openapi.json: %v", err)
	}
}

// TestSpecMatchesRoutes compares the Gin route table with the spec's paths.
func TestSpecMatchesRoutes(t *testing.T) {
	t.Parallel()
	ops := operations(t, loadSpec(t))
	served := map[string]bool{}
	for _, r := range routes(t, testenv.Quick(t)) {
		served[r] = true
		if _, skip := undocumentedRoutes[r]; skip {
			continue
		}
		if _, ok := ops[r]; !ok {
			t.Errorf("route %s is served but missing from docs/openapi.json: add a swag block (@Router) to its handler and run make docs", r)
		}
	}
	for _, k := range sortedKeys(ops) {
		if !served[k] {
			t.Errorf("docs/openapi.json documents %s, which the router does not serve: fix the @Router line and run make docs", k)
		}
	}
	for r := range undocumentedRoutes {
		if !served[r] {
			t.Errorf("undocumentedRoutes names %s, which the router does not serve", r)
		}
	}
}

// TestSpecOperationsComplete checks what a reader of /docs and a client
// generator need on every operation. Each problem names the operation; the
// handler's swag block is the place to fix it.
func TestSpecOperationsComplete(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	ops := operations(t, doc)
	tagOf := map[string]string{} // /api/v1 resource -> tag of its first operation
	for _, k := range sortedKeys(ops) {
		o := ops[k]
		t.Run(k, func(t *testing.T) {
			for _, p := range operationProblems(o) {
				t.Error(p)
			}
			if res, ok := apiResource(o.path); ok && len(o.op.Tags) > 0 {
				if want, seen := tagOf[res]; seen && o.op.Tags[0] != want {
					t.Errorf("tag %q, but the other /api/v1/%s operations use %q: one tag per resource", o.op.Tags[0], res, want)
				} else if !seen {
					tagOf[res] = o.op.Tags[0]
				}
			}
		})
	}
}

// TestSpecTagsDescribed wants every tag the operations use declared, with a
// description, in the general annotations of main.go (@tag.name and
// @tag.description), which also orders the groups in the UI; and no declared
// tag left without operations.
func TestSpecTagsDescribed(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	declared := map[string]bool{}
	for _, tag := range doc.Tags {
		declared[tag.Name] = true
		if strings.TrimSpace(tag.Description) == "" {
			t.Errorf("tag %q has no @tag.description in main.go", tag.Name)
		}
	}
	used := map[string]bool{}
	ops := operations(t, doc)
	for _, k := range sortedKeys(ops) {
		for _, tag := range ops[k].op.Tags {
			used[tag] = true
			if !declared[tag] {
				t.Errorf("%s: tag %q is not declared: add @tag.name and @tag.description to the general annotations in main.go", k, tag)
				declared[tag] = true // once per tag
			}
		}
	}
	for _, tag := range doc.Tags {
		if !used[tag.Name] {
			t.Errorf("tag %q is declared in main.go but no operation uses it", tag.Name)
		}
	}
}

// apiResource is the first path segment after /api/v1 ("budget", "dlq").
func apiResource(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, apiPrefix)
	if !ok {
		return "", false
	}
	res, _, _ := strings.Cut(rest, "/")
	return res, true
}

func operationProblems(o operation) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, o.key()+": "+fmt.Sprintf(format, args...)) }
	op := o.op
	if strings.TrimSpace(op.Summary) == "" {
		add("no @Summary")
	}
	if strings.TrimSpace(op.Description) == "" {
		add("no @Description")
	}
	if len(op.Tags) == 0 {
		add("no @Tags")
	}
	resp := o.responses()
	if len(resp) == 0 {
		add("no responses")
		return p
	}
	wantType := "application/json"
	if alt, ok := nonJSONOperations[o.key()]; ok {
		wantType = alt
	}
	has2xx := false
	for _, code := range sortedKeys(resp) {
		r := resp[code]
		switch {
		case code >= 200 && code < 300:
			if m := r.Content.Get(wantType); m != nil && m.Schema != nil {
				has2xx = true
			}
		case code >= 400:
			if _, ok := nonErrorAnswers[o.key()+" "+strconv.Itoa(code)]; ok {
				break
			}
			m := r.Content.Get("application/json")
			if m == nil || m.Schema == nil || m.Schema.Ref != apispec.ErrorSchema {
				add("@Failure %d does not refer to the Error model: use {object} middleware.ErrorBody", code)
			}
		default:
			add("unexpected response status %d", code)
		}
	}
	if !has2xx {
		add("no 2xx response with a schema in %s (@Success 200 {object} ..., @Produce)", wantType)
	}

	secured := op.Security != nil && slices.ContainsFunc(*op.Security, func(req openapi3.SecurityRequirement) bool { _, ok := req[security]; return ok })
	_, public := publicOperations[o.key()]
	switch {
	case strings.HasPrefix(o.path, apiPrefix) && !public && !secured:
		add("no @Security %s", security)
	case secured && (public || !strings.HasPrefix(o.path, apiPrefix)):
		add("@Security %s on a route that takes no bearer token", security)
	}
	if secured && resp[http.StatusUnauthorized] == nil {
		add("@Security %s but no @Failure 401", security)
	}
	// Every /api/v1 route runs behind a rate limit: the caller's role limit,
	// or login's own.
	if strings.HasPrefix(o.path, apiPrefix) {
		p = append(p, rateLimitProblems(o)...)
	}
	p = append(p, parameterProblems(o)...)
	return p
}

// rateLimitProblems checks the 429 answer and the X-RateLimit-* headers of a
// rate-limited operation.
func rateLimitProblems(o operation) []string {
	var p []string
	resp := o.responses()
	if resp[http.StatusTooManyRequests] == nil {
		return []string{o.key() + ": rate limited but no @Failure 429"}
	}
	for _, code := range sortedKeys(resp) {
		if (code < 200 || code >= 300) && code != http.StatusTooManyRequests {
			continue
		}
		want := []string{"X-RateLimit-Scope", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}
		if code == http.StatusTooManyRequests {
			want = append(want, "Retry-After")
		}
		for _, h := range want {
			if resp[code].Headers[h] == nil {
				p = append(p, fmt.Sprintf("%s: response %d lacks header %s (apispec adds it to every operation with a 429)", o.key(), code, h))
			}
		}
	}
	return p
}

// parameterProblems wants every parameter described and constrained, and
// every body to be a named model.
func parameterProblems(o operation) []string {
	var p []string
	for _, ref := range o.op.Parameters {
		prm := ref.Value
		name := fmt.Sprintf("%s: parameter %s (in %s)", o.key(), prm.Name, prm.In)
		if strings.TrimSpace(prm.Description) == "" {
			p = append(p, name+" has no description")
		}
		if prm.Schema == nil || prm.Schema.Value == nil {
			p = append(p, name+" has no schema")
			continue
		}
		s := prm.Schema.Value
		switch {
		case s.Type.Is("integer") || s.Type.Is("number"):
			if s.Min == nil && s.Max == nil && len(s.Enum) == 0 {
				p = append(p, name+" has no minimum/maximum")
			}
		case s.Type.Is("string"):
			if s.MaxLength == nil && s.Pattern == "" && s.Format == "" && len(s.Enum) == 0 {
				p = append(p, name+" has no constraint (maxlength, format, pattern or enums)")
			}
		}
	}
	if rb := o.op.RequestBody; rb != nil && rb.Value != nil {
		if strings.TrimSpace(rb.Value.Description) == "" {
			p = append(p, o.key()+": the request body has no description")
		}
		for mt, m := range rb.Value.Content {
			if m.Schema == nil || m.Schema.Ref == "" {
				p = append(p, fmt.Sprintf("%s: the %s body is not a named request model", o.key(), mt))
			}
		}
	}
	return p
}

// TestSpecModels wants every model readable by people and client
// generators: an example on every string and number property (the UI then
// shows a realistic request and answer instead of "string" and 0), timestamps
// declared as date-time and UUIDs as uuid.
func TestSpecModels(t *testing.T) {
	t.Parallel()
	schemas := loadSpec(t).Components.Schemas
	rfc3339 := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d`)
	uuidLike := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	for _, name := range sortedKeys(schemas) {
		props := schemas[name].Value.Properties
		for _, prop := range sortedKeys(props) {
			s := props[prop].Value
			if props[prop].Ref != "" || s == nil {
				continue
			}
			scalar := s.Type.Is("string") || s.Type.Is("integer") || s.Type.Is("number") ||
				s.Type.Includes("string") || s.Type.Includes("integer") || s.Type.Includes("number")
			if s.Type.Is("array") && s.Items != nil && s.Items.Ref == "" && s.Items.Value != nil {
				scalar = s.Items.Value.Type.Includes("string") || s.Items.Value.Type.Includes("integer")
			}
			if scalar && len(s.Examples) == 0 && len(s.Enum) == 0 {
				t.Errorf("model %s: property %s has no example (add example:\"...\" to its struct tag)", name, prop)
			}
			var example string
			if len(s.Examples) > 0 {
				example, _ = s.Examples[0].(string)
			}
			if (strings.HasSuffix(prop, "_at") || rfc3339.MatchString(example)) && s.Format != "date-time" {
				t.Errorf("model %s: property %s is a timestamp without format date-time (add format:\"date-time\" to its struct tag)", name, prop)
			}
			if uuidLike.MatchString(example) && s.Format != "uuid" && prop != "resource_id" {
				t.Errorf("model %s: property %s holds UUIDs without format uuid (add format:\"uuid\" to its struct tag)", name, prop)
			}
		}
	}
}

// TestDocsServed checks the Swagger UI routes and that the UI gets the
// committed description, stamped with the running build's version.
func TestDocsServed(t *testing.T) {
	t.Parallel()
	srv := testenv.Quick(t)
	srv.Client.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	res := srv.Get(t, "/docs", "")
	if res.Status != http.StatusMovedPermanently || res.Header.Get("Location") != "/docs/index.html" {
		t.Errorf("GET /docs = %d Location %q, want 301 /docs/index.html", res.Status, res.Header.Get("Location"))
	}
	page := srv.Get(t, "/docs/index.html", "").WantStatus(t, http.StatusOK)
	if !bytes.Contains(page.Body, []byte("swagger-ui")) {
		t.Errorf("GET /docs/index.html is not the Swagger UI: %.300s", page.Body)
	}
	init := srv.Get(t, "/docs/swagger-initializer.js", "").WantStatus(t, http.StatusOK)
	if !bytes.Contains(init.Body, []byte(`url: "openapi.json"`)) {
		t.Errorf("the UI is not pointed at openapi.json: %.500s", init.Body)
	}
	// Swagger UI 5 is the first to read OpenAPI 3.1.
	bundle := srv.Get(t, "/docs/swagger-ui-bundle.js", "").WantStatus(t, http.StatusOK)
	if !bytes.Contains(bundle.Body, []byte("oas31")) {
		t.Error("the served Swagger UI bundle has no OpenAPI 3.1 support (swaggo/files v1 ships Swagger UI 4)")
	}
	// The Swagger 2.0 document is gone; its old address answers 404 in the
	// one error shape.
	srv.Get(t, "/docs/doc.json", "").WantError(t, http.StatusNotFound, "resource.not_found")

	served := srv.Get(t, "/docs/openapi.json", "").WantStatus(t, http.StatusOK)
	if ct := served.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var got, want map[string]any
	served.JSON(t, &got)
	raw, err := os.ReadFile(committedSpec)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	want["info"].(map[string]any)["version"] = "test" // testenv's build version
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/docs/openapi.json differs from docs/openapi.json (-want +got):\n%s", diff)
	}
}

// TestDocsFresh regenerates the documents from the annotations and wants the
// committed files to be exactly what comes out.
func TestDocsFresh(t *testing.T) {
	t.Parallel()
	files, err := apispec.Generate("..")
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	for name, want := range map[string][]byte{apispec.JSONFile: files.JSON, apispec.YAMLFile: files.YAML} {
		got, err := os.ReadFile("../docs/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("docs/%s is stale: run make docs and commit it", name)
		}
	}
}
