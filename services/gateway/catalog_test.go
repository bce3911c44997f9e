package gateway_test

import (
	"os"
	"strings"
	"testing"

	"github.com/golden-architecture/control-plane/services/gateway"
)

// The example file in the repository parses, and a JSON list of the same
// models gives the same catalog.
func TestParseModelsExampleAndJSON(t *testing.T) {
	b, err := os.ReadFile("../../deploy/llm-models.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fromYAML, err := gateway.ParseModels(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromYAML) != 3 || fromYAML[0].Name != "gpt-4o-mini" || fromYAML[2].Provider != "anthropic" || fromYAML[0].InputPricePerMillion != 0.15 {
		t.Errorf("example = %+v", fromYAML)
	}
	fromJSON, err := gateway.ParseModels([]byte(`[{"name":"m","provider":"openai","context_window":100,"default_max_tokens":10}]`))
	if err != nil || len(fromJSON) != 1 || fromJSON[0].UpstreamModel != "m" {
		t.Errorf("JSON list = %+v, %v; want one model whose upstream name defaults to its name", fromJSON, err)
	}
	if got, want := fromYAML[0].Cost(1_000_000, 2_000_000), 0.15+1.2; got != want {
		t.Errorf("cost = %v, want %v", got, want)
	}
}

// Every bad entry is named in one error.
func TestParseModelsRejects(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"unknown provider", `[{"name":"m","provider":"google","context_window":10,"default_max_tokens":1}]`, `provider "google"`},
		{"no window", `[{"name":"m","provider":"openai"}]`, "context_window"},
		{"max above window", `[{"name":"m","provider":"openai","context_window":10,"default_max_tokens":11}]`, "default_max_tokens"},
		{"duplicate", `[{"name":"m","provider":"openai","context_window":10,"default_max_tokens":1},{"name":"m","provider":"openai","context_window":10,"default_max_tokens":1}]`, "used twice"},
		{"unknown field", "models:\n  - name: m\n    provider: openai\n    context_window: 10\n    default_max_tokens: 1\n    price: 3\n", "price"},
		{"negative price", `[{"name":"m","provider":"openai","context_window":10,"default_max_tokens":1,"input_price_per_million":-1}]`, "negative"},
		{"bad name", `[{"name":"has space","provider":"openai","context_window":10,"default_max_tokens":1}]`, "name must"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gateway.ParseModels([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v; want it to mention %q", err, tt.want)
			}
		})
	}
}
