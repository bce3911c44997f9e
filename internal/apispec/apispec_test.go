package apispec

import (
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// docWith is a one-operation document whose 409 answer has the given
// description, as openapi2conv leaves it.
func docWith(desc, operationID string, schemas ...string) *openapi3.T {
	errRef := &openapi3.SchemaRef{Ref: ErrorSchema, Value: &openapi3.Schema{}}
	resp := openapi3.NewResponse().WithDescription(desc).WithContent(openapi3.NewContentWithJSONSchemaRef(errRef))
	op := &openapi3.Operation{OperationID: operationID, Responses: openapi3.NewResponses(openapi3.WithStatus(409, &openapi3.ResponseRef{Value: resp}))}
	doc := &openapi3.T{
		OpenAPI:    "3.0.3",
		Info:       &openapi3.Info{Title: "t", Version: "1"},
		Paths:      openapi3.NewPaths(openapi3.WithPath("/x", &openapi3.PathItem{Post: op})),
		Components: &openapi3.Components{Schemas: openapi3.Schemas{"Error": errRef}},
	}
	for _, s := range schemas {
		doc.Components.Schemas[s] = &openapi3.SchemaRef{Value: openapi3.NewObjectSchema()}
	}
	return doc
}

// TestConventionsRefuse: the annotation mistakes make docs reports instead of
// publishing a document that lies or confuses.
func TestConventionsRefuse(t *testing.T) {
	tests := []struct {
		name, desc, id string
		schemas        []string
		want           string // "" = accepted
	}{
		{"codes from the catalogue", "budget.insufficient | idempotency.conflict", "op", nil, ""},
		{"a code with its message", "state.conflict: the reservation is released and cannot be committed", "op", nil, ""},
		{"free text", "already committed", "op", nil, "is not an error code"},
		{"unknown code", "state.confused", "op", nil, "is not an error code"},
		{"code of another status", "auth.forbidden", "op", nil, "auth.forbidden is answered with 403, not 409"},
		{"resource code without its message", "state.conflict", "op", nil, "write the message the server sends"},
		{"no operationId", "state.conflict: m", "", nil, "no @ID"},
		{"model named after its package", "state.conflict: m", "op", []string{"handlers.BudgetRequestBody"}, "// @name BudgetRequestBody"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := applyConventions(docWith(tt.desc, tt.id, tt.schemas...))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestErrorExamples: a catalogue code brings its shared examples, a code with
// a message an inline example of exactly that message; the description names
// the codes.
func TestErrorExamples(t *testing.T) {
	doc := docWith(`idempotency.conflict | state.conflict: the original subject \"dlq.x\" is under the DLQ prefix`, "op")
	if err := applyConventions(doc); err != nil {
		t.Fatal(err)
	}
	resp := doc.Paths.Value("/x").Post.Responses.Value("409").Value
	if got, want := *resp.Description, "Error `idempotency.conflict` or `state.conflict`"; got != want {
		t.Errorf("description %q, want %q", got, want)
	}
	ex := resp.Content.Get("application/json").Examples
	if ref := ex["idempotency.conflict"]; ref == nil || ref.Ref != "#/components/examples/idempotency.conflict" {
		t.Errorf("idempotency.conflict example = %+v, want the shared one", ref)
	}
	inline := ex["state.conflict"]
	if inline == nil || inline.Value == nil {
		t.Fatalf("no inline state.conflict example in %v", ex)
	}
	v := inline.Value.Value.(map[string]any)
	if v["error_code"] != "state.conflict" || v["message"] != `the original subject "dlq.x" is under the DLQ prefix` {
		t.Errorf("inline example %v: want the code and the message with swag's escapes undone", v)
	}
}
