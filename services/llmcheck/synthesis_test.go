package llmcheck

import (
	"encoding/json"
	"testing"
)

// planItem returns a valid action plan item.
func planItem() map[string]any {
	return map[string]any{"priority": 10, "type": "fix", "issue": "Retry loop never backs off", "agent": "qa-agent"}
}

// synthesisAnswer returns a valid synthesis answer after edit changes it.
func synthesisAnswer(t *testing.T, edit func(m map[string]any, item map[string]any)) string {
	t.Helper()
	item := planItem()
	m := map[string]any{
		"synthesis_reasoning": "The agents agree the sweeper must back off.",
		"action_plan":         []any{item},
	}
	if edit != nil {
		edit(m, item)
	}
	return toJSON(t, m)
}

// items returns n valid action plan items.
func items(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = planItem()
	}
	return out
}

func TestCheckSynthesisSchema(t *testing.T) {
	set := func(key string, v any) func(m, item map[string]any) {
		return func(m, _ map[string]any) { m[key] = v }
	}
	setItem := func(key string, v any) func(m, item map[string]any) {
		return func(_, item map[string]any) { item[key] = v }
	}
	del := func(key string) func(m, item map[string]any) {
		return func(m, _ map[string]any) { delete(m, key) }
	}
	cases := []checkCase{
		{name: "valid", raw: synthesisAnswer(t, nil)},
		{name: "extra properties allowed", raw: synthesisAnswer(t, set("summary", map[string]any{"x": 1}))},
		{name: "reasoning 9 chars", raw: synthesisAnswer(t, set("synthesis_reasoning", chars("a", 9))), wantPaths: []string{"/synthesis_reasoning"}},
		{name: "reasoning 10 chars", raw: synthesisAnswer(t, set("synthesis_reasoning", chars("a", 10)))},
		{name: "reasoning 2000 chars", raw: synthesisAnswer(t, set("synthesis_reasoning", chars("a", 2000)))},
		{name: "reasoning 2001 chars", raw: synthesisAnswer(t, set("synthesis_reasoning", chars("a", 2001))), wantPaths: []string{"/synthesis_reasoning"}},
		{name: "reasoning 9 two-byte chars", raw: synthesisAnswer(t, set("synthesis_reasoning", chars("é", 9))), wantPaths: []string{"/synthesis_reasoning"}},
		{name: "reasoning 10 two-byte chars", raw: synthesisAnswer(t, set("synthesis_reasoning", chars("é", 10)))},
		{name: "reasoning 2000 four-byte chars", raw: synthesisAnswer(t, set("synthesis_reasoning", chars("😀", 2000)))},
		{name: "reasoning 2001 four-byte chars", raw: synthesisAnswer(t, set("synthesis_reasoning", chars("😀", 2001))), wantPaths: []string{"/synthesis_reasoning"}},
		{name: "reasoning 2000 three-byte chars", raw: synthesisAnswer(t, set("synthesis_reasoning", chars("語", 2000)))},
		{name: "reasoning short after trimming", raw: synthesisAnswer(t, set("synthesis_reasoning", "   "+chars("a", 9)+"\n\t ")), wantPaths: []string{"/synthesis_reasoning"}},
		{name: "reasoning padded to 10", raw: synthesisAnswer(t, set("synthesis_reasoning", "  "+chars("a", 10)+"  "))},
		{name: "reasoning not a string", raw: synthesisAnswer(t, set("synthesis_reasoning", 12345678901)), wantPaths: []string{"/synthesis_reasoning"}},
		{name: "reasoning missing", raw: synthesisAnswer(t, del("synthesis_reasoning")), wantPaths: []string{"/synthesis_reasoning"}},
		{name: "plan missing", raw: synthesisAnswer(t, del("action_plan")), wantPaths: []string{"/action_plan"}},
		{name: "plan not an array", raw: synthesisAnswer(t, set("action_plan", planItem())), wantPaths: []string{"/action_plan"}},
		{name: "plan 0 items", raw: synthesisAnswer(t, set("action_plan", items(0))), wantPaths: []string{"/action_plan"}},
		{name: "plan 1 item", raw: synthesisAnswer(t, set("action_plan", items(1)))},
		{name: "plan 50 items", raw: synthesisAnswer(t, set("action_plan", items(50)))},
		{name: "plan 51 items", raw: synthesisAnswer(t, set("action_plan", items(51))), wantPaths: []string{"/action_plan"}},
		{name: "item not an object", raw: synthesisAnswer(t, set("action_plan", []any{"fix it"})), wantPaths: []string{"/action_plan/0"}},
		{name: "priority 0", raw: synthesisAnswer(t, setItem("priority", 0)), wantPaths: []string{"/action_plan/0/priority"}},
		{name: "priority 1", raw: synthesisAnswer(t, setItem("priority", 1))},
		{name: "priority 100", raw: synthesisAnswer(t, setItem("priority", 100))},
		{name: "priority 101", raw: synthesisAnswer(t, setItem("priority", 101)), wantPaths: []string{"/action_plan/0/priority"}},
		{name: "priority -1", raw: synthesisAnswer(t, setItem("priority", -1)), wantPaths: []string{"/action_plan/0/priority"}},
		{name: "priority 1.5", raw: synthesisAnswer(t, setItem("priority", 1.5)), wantPaths: []string{"/action_plan/0/priority"}},
		{name: "priority 1.0 is an integer", raw: synthesisAnswer(t, setItem("priority", json.Number("1.0")))},
		{name: "priority 1e2 is 100", raw: synthesisAnswer(t, setItem("priority", json.Number("1e2")))},
		{name: "priority as string", raw: synthesisAnswer(t, setItem("priority", "5")), wantPaths: []string{"/action_plan/0/priority"}},
		{name: "priority huge integer", raw: synthesisAnswer(t, setItem("priority", json.Number("123456789012345678901234567890"))), wantPaths: []string{"/action_plan/0/priority"}},
		{name: "type each value", raw: synthesisAnswer(t, set("action_plan", []any{
			map[string]any{"priority": 1, "type": "fix", "issue": "issue", "agent": "ab"},
			map[string]any{"priority": 2, "type": "improve", "issue": "issue", "agent": "ab"},
			map[string]any{"priority": 3, "type": "refactor", "issue": "issue", "agent": "ab"},
			map[string]any{"priority": 4, "type": "test", "issue": "issue", "agent": "ab"},
		}))},
		{name: "type mixed case and spaces", raw: synthesisAnswer(t, setItem("type", " Fix "))},
		{name: "type upper case", raw: synthesisAnswer(t, setItem("type", "REFACTOR"))},
		{name: "type unknown", raw: synthesisAnswer(t, setItem("type", "patch")), wantPaths: []string{"/action_plan/0/type"}},
		{name: "type not a string", raw: synthesisAnswer(t, setItem("type", 1)), wantPaths: []string{"/action_plan/0/type"}},
		{name: "issue 4 chars", raw: synthesisAnswer(t, setItem("issue", "abcd")), wantPaths: []string{"/action_plan/0/issue"}},
		{name: "issue 5 chars", raw: synthesisAnswer(t, setItem("issue", "abcde"))},
		{name: "issue 5 four-byte chars", raw: synthesisAnswer(t, setItem("issue", chars("🔥", 5)))},
		{name: "issue 1000 chars", raw: synthesisAnswer(t, setItem("issue", chars("ж", 1000)))},
		{name: "issue 1001 chars", raw: synthesisAnswer(t, setItem("issue", chars("ж", 1001))), wantPaths: []string{"/action_plan/0/issue"}},
		{name: "agent 1 char", raw: synthesisAnswer(t, setItem("agent", "a")), wantPaths: []string{"/action_plan/0/agent"}},
		{name: "agent 1 char after trimming", raw: synthesisAnswer(t, setItem("agent", "  a  ")), wantPaths: []string{"/action_plan/0/agent"}},
		{name: "agent 2 chars", raw: synthesisAnswer(t, setItem("agent", "ab"))},
		{name: "agent 100 chars", raw: synthesisAnswer(t, setItem("agent", chars("a", 100)))},
		{name: "agent 101 chars", raw: synthesisAnswer(t, setItem("agent", chars("a", 101))), wantPaths: []string{"/action_plan/0/agent"}},
		{name: "every item field missing", raw: synthesisAnswer(t, set("action_plan", []any{map[string]any{}})), wantPaths: []string{
			"/action_plan/0/agent", "/action_plan/0/issue", "/action_plan/0/priority", "/action_plan/0/type",
		}},
		{name: "every violation listed", raw: synthesisAnswer(t, func(m, item map[string]any) {
			m["synthesis_reasoning"] = "short"
			item["priority"] = 0
			item["type"] = "patch"
			m["action_plan"] = []any{item, planItem(), map[string]any{"priority": 101, "type": "fix", "issue": "issue", "agent": "x"}}
		}), wantPaths: []string{
			"/action_plan/0/priority", "/action_plan/0/type", "/action_plan/2/agent", "/action_plan/2/priority", "/synthesis_reasoning",
		}},
		{name: "root is an array", raw: `[` + synthesisAnswer(t, nil) + `]`, wantPaths: []string{"/"}},
		{name: "root is an empty object", raw: `{}`, wantPaths: []string{"/action_plan", "/synthesis_reasoning"}},
	}
	runCheckCases(t, KindSynthesis, cases)
}
