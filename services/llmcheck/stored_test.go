package llmcheck_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/services/llmcheck"
)

// What Stored keeps reads back the same, directly and after a JSON round
// trip (as from the database); a row without warnings reads as [].
func TestStoredRoundTrip(t *testing.T) {
	ws := []llmcheck.Warning{{Path: "/a/0", Kind: llmcheck.WarnSQLInjection, Excerpt: "x'; DROP TABLE users"}}
	stored := llmcheck.Stored(map[string]any{"a": []any{"x"}}, ws)
	var fromDB map[string]any
	b, err := json.Marshal(stored)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fromDB); err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]map[string]any{"in memory": stored, "from JSON": fromDB} {
		data, got := llmcheck.FromStored(m)
		if diff := cmp.Diff(ws, got); diff != "" {
			t.Errorf("%s: warnings (-want +got):\n%s", name, diff)
		}
		if diff := cmp.Diff(map[string]any{"a": []any{"x"}}, data); diff != "" {
			t.Errorf("%s: data (-want +got):\n%s", name, diff)
		}
	}
	for _, m := range []map[string]any{{}, {"warnings": "not a list"}} {
		if _, got := llmcheck.FromStored(m); got == nil || len(got) != 0 {
			t.Errorf("FromStored(%v) warnings = %#v, want empty and not nil", m, got)
		}
	}
}
