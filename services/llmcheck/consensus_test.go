package llmcheck

import (
	"encoding/json"
	"testing"
)

// consensusAnswer returns a valid consensus vote after edit changes it.
func consensusAnswer(t *testing.T, edit func(m map[string]any)) string {
	t.Helper()
	m := map[string]any{"decision": "approve", "confidence": 0.8, "reasoning": "Tests cover the change."}
	if edit != nil {
		edit(m)
	}
	return toJSON(t, m)
}

// strs returns n copies of s.
func strs(s string, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestCheckConsensusSchema(t *testing.T) {
	set := func(key string, v any) func(map[string]any) {
		return func(m map[string]any) { m[key] = v }
	}
	del := func(key string) func(map[string]any) {
		return func(m map[string]any) { delete(m, key) }
	}
	cases := []checkCase{
		{name: "valid", raw: consensusAnswer(t, nil)},
		{name: "reject", raw: consensusAnswer(t, set("decision", "reject"))},
		{name: "conditional", raw: consensusAnswer(t, set("decision", "conditional"))},
		{name: "decision mixed case and spaces", raw: consensusAnswer(t, set("decision", "  APPROVE\n"))},
		{name: "decision unknown", raw: consensusAnswer(t, set("decision", "maybe")), wantPaths: []string{"/decision"}},
		{name: "decision missing", raw: consensusAnswer(t, del("decision")), wantPaths: []string{"/decision"}},
		{name: "confidence -0.01", raw: consensusAnswer(t, set("confidence", -0.01)), wantPaths: []string{"/confidence"}},
		{name: "confidence 0", raw: consensusAnswer(t, set("confidence", 0))},
		{name: "confidence 1", raw: consensusAnswer(t, set("confidence", 1))},
		{name: "confidence 1.0", raw: consensusAnswer(t, set("confidence", json.Number("1.0")))},
		{name: "confidence 1.01", raw: consensusAnswer(t, set("confidence", 1.01)), wantPaths: []string{"/confidence"}},
		{name: "confidence 1.0000000000000000001", raw: consensusAnswer(t, set("confidence", json.Number("1.0000000000000000001"))), wantPaths: []string{"/confidence"}},
		{name: "confidence as string", raw: consensusAnswer(t, set("confidence", "0.5")), wantPaths: []string{"/confidence"}},
		{name: "confidence missing", raw: consensusAnswer(t, del("confidence")), wantPaths: []string{"/confidence"}},
		{name: "confidence tiny exponent", raw: consensusAnswer(t, set("confidence", json.Number("5e-324")))},
		{name: "confidence exponent past range", raw: consensusAnswer(t, set("confidence", json.Number("1e-1001"))), wantPaths: []string{"/confidence"}},
		{name: "confidence exponent that crashes the validator", raw: consensusAnswer(t, set("confidence", json.Number("1e9999999"))), wantPaths: []string{"/confidence"}},
		{name: "confidence literal of 1000 characters", raw: consensusAnswer(t, set("confidence", json.Number("0."+chars("1", 998))))},
		{name: "confidence literal of 1001 characters", raw: consensusAnswer(t, set("confidence", json.Number("0."+chars("1", 999)))), wantPaths: []string{"/confidence"}},
		{name: "reasoning empty", raw: consensusAnswer(t, set("reasoning", ""))},
		{name: "reasoning 2000 chars", raw: consensusAnswer(t, set("reasoning", chars("ü", 2000)))},
		{name: "reasoning 2001 chars", raw: consensusAnswer(t, set("reasoning", chars("ü", 2001))), wantPaths: []string{"/reasoning"}},
		{name: "reasoning missing", raw: consensusAnswer(t, del("reasoning")), wantPaths: []string{"/reasoning"}},
		{name: "concerns empty", raw: consensusAnswer(t, set("concerns", []any{}))},
		{name: "concerns 10", raw: consensusAnswer(t, set("concerns", strs("x", 10)))},
		{name: "concerns 11", raw: consensusAnswer(t, set("concerns", strs("x", 11))), wantPaths: []string{"/concerns"}},
		{name: "concern 500 chars", raw: consensusAnswer(t, set("concerns", strs(chars("€", 500), 1)))},
		{name: "concern 501 chars", raw: consensusAnswer(t, set("concerns", strs(chars("€", 501), 2))), wantPaths: []string{"/concerns/0", "/concerns/1"}},
		{name: "concern not a string", raw: consensusAnswer(t, set("concerns", []any{"ok", 3})), wantPaths: []string{"/concerns/1"}},
		{name: "concerns not an array", raw: consensusAnswer(t, set("concerns", "none")), wantPaths: []string{"/concerns"}},
		{name: "root is an array", raw: `[` + consensusAnswer(t, nil) + `]`, wantPaths: []string{"/"}},
	}
	runCheckCases(t, KindConsensus, cases)
}
