package llmcheck

import (
	"testing"
)

// patternItem returns a valid pattern.
func patternItem() map[string]any {
	return map[string]any{
		"pattern_type":    "skill_gap",
		"root_cause":      "The coder agent does not know the retry API.",
		"suggested_fix":   "Add the retry API to its prompt.",
		"agents_involved": []any{"coder", "reviewer"},
		"confidence":      0.7,
	}
}

// patternsAnswer returns n valid patterns after edit changes the first.
func patternsAnswer(t *testing.T, n int, edit func(first map[string]any)) string {
	t.Helper()
	list := make([]any, n)
	for i := range list {
		list[i] = patternItem()
	}
	if edit != nil && n > 0 {
		edit(list[0].(map[string]any))
	}
	return toJSON(t, list)
}

func TestCheckPatternsSchema(t *testing.T) {
	set := func(key string, v any) func(map[string]any) {
		return func(m map[string]any) { m[key] = v }
	}
	del := func(key string) func(map[string]any) {
		return func(m map[string]any) { delete(m, key) }
	}
	cases := []checkCase{
		{name: "empty list", raw: `[]`},
		{name: "one pattern", raw: patternsAnswer(t, 1, nil)},
		{name: "20 patterns", raw: patternsAnswer(t, 20, nil)},
		{name: "21 patterns", raw: patternsAnswer(t, 21, nil), wantPaths: []string{"/"}},
		{name: "agent_conflict", raw: patternsAnswer(t, 1, set("pattern_type", "agent_conflict"))},
		{name: "process_issue", raw: patternsAnswer(t, 1, set("pattern_type", "process_issue"))},
		{name: "pattern_type mixed case and spaces", raw: patternsAnswer(t, 1, set("pattern_type", " Skill_Gap "))},
		{name: "pattern_type unknown", raw: patternsAnswer(t, 1, set("pattern_type", "skill gap")), wantPaths: []string{"/0/pattern_type"}},
		{name: "root_cause 500 chars", raw: patternsAnswer(t, 1, set("root_cause", chars("ß", 500)))},
		{name: "root_cause 501 chars", raw: patternsAnswer(t, 1, set("root_cause", chars("ß", 501))), wantPaths: []string{"/0/root_cause"}},
		{name: "suggested_fix 1000 chars", raw: patternsAnswer(t, 1, set("suggested_fix", chars("ç", 1000)))},
		{name: "suggested_fix 1001 chars", raw: patternsAnswer(t, 1, set("suggested_fix", chars("ç", 1001))), wantPaths: []string{"/0/suggested_fix"}},
		{name: "agents_involved missing", raw: patternsAnswer(t, 1, del("agents_involved"))},
		{name: "agents_involved 10", raw: patternsAnswer(t, 1, set("agents_involved", strs("coder", 10)))},
		{name: "agents_involved 11", raw: patternsAnswer(t, 1, set("agents_involved", strs("coder", 11))), wantPaths: []string{"/0/agents_involved"}},
		{name: "agents_involved not strings", raw: patternsAnswer(t, 1, set("agents_involved", []any{1})), wantPaths: []string{"/0/agents_involved/0"}},
		{name: "confidence -0.01", raw: patternsAnswer(t, 1, set("confidence", -0.01)), wantPaths: []string{"/0/confidence"}},
		{name: "confidence 0", raw: patternsAnswer(t, 1, set("confidence", 0))},
		{name: "confidence 1", raw: patternsAnswer(t, 1, set("confidence", 1))},
		{name: "confidence 1.01", raw: patternsAnswer(t, 1, set("confidence", 1.01)), wantPaths: []string{"/0/confidence"}},
		{name: "confidence missing", raw: patternsAnswer(t, 1, del("confidence")), wantPaths: []string{"/0/confidence"}},
		{name: "required fields missing", raw: `[{}]`, wantPaths: []string{"/0/confidence", "/0/pattern_type", "/0/root_cause", "/0/suggested_fix"}},
		{name: "item not an object", raw: `[["skill_gap"]]`, wantPaths: []string{"/0"}},
		{name: "root is an object", raw: toJSON(t, patternItem()), wantPaths: []string{"/"}},
	}
	runCheckCases(t, KindPatterns, cases)
}
