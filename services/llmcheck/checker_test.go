package llmcheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/google/go-cmp/cmp"
)

// TestCheckReturnsNormalizedData shows the returned data is the trimmed,
// lowercased value that was validated, with unknown properties and number
// spellings kept.
func TestCheckReturnsNormalizedData(t *testing.T) {
	c := newChecker(t)
	cases := []struct {
		name string
		kind Kind
		raw  string
		want any
	}{
		{
			name: "synthesis in a json fence with prose",
			kind: KindSynthesis,
			raw: "Here is my synthesis.\n```json\n" + `{
  "synthesis_reasoning": "  Both agents {agree} that \"}\" breaks the parser.  ",
  "action_plan": [
    {"priority": 1.0, "type": " Fix ", "issue": "  Parser chokes on } in strings ", "agent": " coder ", "eta": {"days": 2}},
    {"priority": 100, "type": "TEST", "issue": "Add a regression test", "agent": "qa"}
  ],
  "trace_id": 123456789012345678901234567890
}` + "\n```\nLet me know if you need more.",
			want: map[string]any{
				"synthesis_reasoning": `Both agents {agree} that "}" breaks the parser.`,
				"action_plan": []any{
					map[string]any{"priority": json.Number("1.0"), "type": "fix", "issue": "Parser chokes on } in strings", "agent": "coder", "eta": map[string]any{"days": json.Number("2")}},
					map[string]any{"priority": json.Number("100"), "type": "test", "issue": "Add a regression test", "agent": "qa"},
				},
				"trace_id": json.Number("123456789012345678901234567890"),
			},
		},
		{
			name: "consensus unfenced after prose with braces",
			kind: KindConsensus,
			raw:  `My vote {see below}: {"decision": " Conditional ", "confidence": 0.75, "reasoning": " Needs a test. ", "concerns": [" flaky CI "]} -- end`,
			want: map[string]any{
				"decision": "conditional", "confidence": json.Number("0.75"), "reasoning": "Needs a test.", "concerns": []any{"flaky CI"},
			},
		},
		{
			name: "patterns in a plain fence",
			kind: KindPatterns,
			raw:  "```\n[{\"pattern_type\": \"AGENT_CONFLICT\", \"root_cause\": \" two owners \", \"suggested_fix\": \"pick one\", \"confidence\": 1}]\n```",
			want: []any{map[string]any{
				"pattern_type": "agent_conflict", "root_cause": "two owners", "suggested_fix": "pick one", "confidence": json.Number("1"),
			}},
		},
		{
			name: "keys are never rewritten",
			kind: KindConsensus,
			raw:  `{"decision": "approve", "confidence": 0, "reasoning": "", " Note ": " x "}`,
			want: map[string]any{"decision": "approve", "confidence": json.Number("0"), "reasoning": "", " Note ": "x"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Check(tc.kind, tc.raw)
			if err != nil {
				t.Fatalf("Check() error = %v; details %v", err, detailsOf(err))
			}
			if !res.Valid {
				t.Errorf("Valid = false, want true")
			}
			if diff := cmp.Diff(tc.want, res.Data); diff != "" {
				t.Errorf("Data mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckViolationDetails(t *testing.T) {
	c := newChecker(t)
	raw := `{"synthesis_reasoning": "too short", "action_plan": [{"priority": 0, "type": "Patch", "issue": "abcde", "agent": "x/y~z"}, {}]}`
	_, err := c.Check(KindSynthesis, raw)
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("Check() error = %v, want *errs.Error", err)
	}
	if got, want := e.Message, "llm response does not match the synthesis schema"; got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
	want := []Violation{
		{Path: "/action_plan/0/priority", Message: "minimum: got 0, want 1"},
		{Path: "/action_plan/0/type", Message: "value must be one of 'fix', 'improve', 'refactor', 'test'"},
		{Path: "/action_plan/1/agent", Message: "required property is missing"},
		{Path: "/action_plan/1/issue", Message: "required property is missing"},
		{Path: "/action_plan/1/priority", Message: "required property is missing"},
		{Path: "/action_plan/1/type", Message: "required property is missing"},
		{Path: "/synthesis_reasoning", Message: "minLength: got 9, want 10"},
	}
	if diff := cmp.Diff(want, violations(t, err)); diff != "" {
		t.Errorf("violations mismatch (-want +got):\n%s", diff)
	}
	body, err := json.Marshal(e.Details)
	if err != nil {
		t.Fatalf("marshal details: %v", err)
	}
	if !strings.Contains(string(body), `{"path":"/synthesis_reasoning","message":"minLength: got 9, want 10"}`) {
		t.Errorf("details JSON = %s, want path/message objects", body)
	}
}

func TestCheckPointerEscaping(t *testing.T) {
	c := newChecker(t)
	_, err := c.Check(KindConsensus, `{"decision":"approve","confidence":0.5,"reasoning":"ok","a/b~c":1e5000}`)
	want := []Violation{{Path: "/a~1b~0c", Message: "number is out of range: its exponent must be within ±1000"}}
	if diff := cmp.Diff(want, violations(t, err)); diff != "" {
		t.Errorf("violations mismatch (-want +got):\n%s", diff)
	}
}

func TestCheckCapsViolations(t *testing.T) {
	c := newChecker(t)
	list := make([]string, 300)
	for i := range list {
		list[i] = `{"pattern_type":"nope","root_cause":"r","suggested_fix":"f","confidence":2}`
	}
	_, err := c.Check(KindPatterns, "["+strings.Join(list, ",")+"]")
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("Check() error = %v, want *errs.Error", err)
	}
	if got := len(violations(t, err)); got != maxReported {
		t.Errorf("len(errors) = %d, want %d", got, maxReported)
	}
	if e.Details["truncated"] != true || e.Details["total"] != 601 {
		t.Errorf("details truncated, total = %v, %v; want true, 601", e.Details["truncated"], e.Details["total"])
	}
}

func TestCheckRefusals(t *testing.T) {
	c := newChecker(t)
	cases := []struct {
		name        string
		kind        Kind
		raw         string
		wantCode    errs.Code
		wantMessage string
	}{
		{name: "no JSON", kind: KindSynthesis, raw: "I cannot help with that.", wantCode: errs.CodeUnprocessable, wantMessage: "no JSON"},
		{name: "unknown kind", kind: Kind("verdict"), raw: `{}`, wantCode: errs.CodeInvalidRequest, wantMessage: "unknown llm response kind"},
		{name: "one byte too long", kind: KindConsensus, raw: strings.Repeat(" ", MaxInputBytes+1), wantCode: errs.CodeUnprocessable, wantMessage: "request validation failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Check(tc.kind, tc.raw)
			if err == nil {
				t.Fatalf("Check() = %+v, want an error", res)
			}
			var e *errs.Error
			if !errors.As(err, &e) {
				t.Fatalf("Check() error = %v (%T), want *errs.Error", err, err)
			}
			if e.Code != tc.wantCode || !strings.Contains(e.Message, tc.wantMessage) {
				t.Errorf("error = %q %q, want code %q and a message containing %q", e.Code, e.Message, tc.wantCode, tc.wantMessage)
			}
		})
	}
}

func TestCheckTooLongNamesTheField(t *testing.T) {
	c := newChecker(t)
	_, err := c.Check(KindSynthesis, strings.Repeat("x", MaxInputBytes+1))
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("Check() error = %v, want *errs.Error", err)
	}
	fields, ok := e.Details["errors"].([]errs.FieldError)
	if !ok || len(fields) != 1 || fields[0].Field != "llm_response" {
		t.Errorf("details.errors = %#v, want one error for llm_response", e.Details["errors"])
	}
}

// TestCheckAcceptsLargeAnswer shows an answer at the size limit is accepted
// and that prose before it does not exhaust the JSON search.
func TestCheckAcceptsLargeAnswer(t *testing.T) {
	c := newChecker(t)
	answer := synthesisAnswer(t, func(m, _ map[string]any) {
		m["appendix"] = strings.Repeat("lorem ipsum [x] {y} ", (MaxInputBytes-2000)/20)
	})
	raw := "Thinking [1] about {it} ... " + answer
	if len(raw) > MaxInputBytes {
		t.Fatalf("test answer is %d bytes, over the limit", len(raw))
	}
	res, err := c.Check(KindSynthesis, raw)
	if err != nil {
		t.Fatalf("Check() error = %v", err)
	}
	if !res.Valid {
		t.Errorf("Valid = false, want true")
	}
}

func TestResultJSON(t *testing.T) {
	c := newChecker(t)
	res, err := c.Check(KindConsensus, `{"decision":"approve","confidence":1,"reasoning":"fine"}`)
	if err != nil {
		t.Fatalf("Check() error = %v", err)
	}
	got := toJSON(t, res)
	want := `{"valid":true,"data":{"confidence":1,"decision":"approve","reasoning":"fine"},"warnings":[]}`
	if got != want {
		t.Errorf("JSON = %s, want %s", got, want)
	}
}

func TestExponentInRange(t *testing.T) {
	cases := []struct {
		n    string
		want bool
	}{
		{"1", true},
		{"1.5", true},
		{"1e1000", true},
		{"1E-1000", true},
		{"1e+0001000", true},
		{"1e1001", false},
		{"1e-1001", false},
		{"1e99999999999999999999", false},
		{"5e-324", true},
	}
	for _, tc := range cases {
		if got := exponentInRange(tc.n); got != tc.want {
			t.Errorf("exponentInRange(%q) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

// TestCheckConcurrent shares one Checker between goroutines; run with -race.
func TestCheckConcurrent(t *testing.T) {
	c := newChecker(t)
	inputs := []struct {
		kind  Kind
		raw   string
		valid bool
	}{
		{KindSynthesis, synthesisAnswer(t, nil), true},
		{KindSynthesis, `{"synthesis_reasoning":"x"}`, false},
		{KindConsensus, consensusAnswer(t, nil), true},
		{KindPatterns, patternsAnswer(t, 3, nil), true},
		{KindPatterns, `[{"pattern_type":"x"}]`, false},
	}
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				in := inputs[(g+i)%len(inputs)]
				_, err := c.Check(in.kind, in.raw)
				if (err == nil) != in.valid {
					errc <- fmt.Errorf("Check(%s) error = %v, want valid %v", in.kind, err, in.valid)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}
