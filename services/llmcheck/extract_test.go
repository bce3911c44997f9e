package llmcheck

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/google/go-cmp/cmp"
)

func TestExtract(t *testing.T) {
	obj := map[string]any{"k": json.Number("1")}
	cases := []struct {
		name string
		raw  string
		want any
	}{
		{name: "bare object", raw: `{"k":1}`, want: obj},
		{name: "bare array", raw: `[1, 2]`, want: []any{json.Number("1"), json.Number("2")}},
		{name: "json fence", raw: "Here it is:\n```json\n{\"k\":1}\n```\nDone.", want: obj},
		{name: "JSON fence upper case", raw: "```JSON\n{\"k\":1}\n```", want: obj},
		{name: "json fence with CRLF", raw: "```json\r\n{\"k\":1}\r\n```\r\n", want: obj},
		{name: "json fence on one line", raw: "```json {\"k\":1}```", want: obj},
		{name: "plain fence on one line", raw: "```{\"k\":1}```", want: obj},
		{name: "plain fence", raw: "Result:\n```\n{\"k\":1}\n```", want: obj},
		{name: "plain fence opening on the brace line", raw: "```{\n\"k\":1}\n```", want: obj},
		{name: "json fence wins over earlier prose JSON", raw: "I thought {\"k\":0} at first.\n```json\n{\"k\":1}\n```", want: obj},
		{name: "json fence wins over earlier plain fence", raw: "```\n{\"k\":0}\n```\n```json\n{\"k\":1}\n```", want: obj},
		{name: "json fence scalar", raw: "```json\n42\n```", want: json.Number("42")},
		{name: "json fence with trailing comment", raw: "```json\n{\"k\":1}\n// that is all\n```", want: obj},
		{name: "json fence with broken JSON falls back to text", raw: "Answer {\"k\":1}\n```json\n{\"k\":\n```", want: obj},
		{name: "four-backtick fence", raw: "````json\n{\"k\":1}\n````", want: obj},
		{name: "plain fence with code is skipped", raw: "```go\nfunc f() { return }\n```\nthen {\"k\":1}", want: obj},
		{name: "plain fence without JSON is skipped", raw: "```\nrun make {target}\n```\nthen {\"k\":1}", want: obj},
		{name: "fence markers inside a JSON string", raw: "{\"k\":\"```[]```\"}", want: map[string]any{"k": "```[]```"}},
		{name: "fence markers inside a fenced JSON string", raw: "```json\n{\"k\":\"```[]```\",\n\"m\":\"```\"}\n```", want: map[string]any{"k": "```[]```", "m": "```"}},
		{name: "indented fence", raw: "1. The answer:\n   ```json\n   {\"k\":1}\n   ```\n", want: obj},
		{name: "inline fence mid-line falls back to text", raw: "Here: ```json {\"k\":1}``` ok", want: obj},
		{name: "unclosed fence falls back to text", raw: "```json\n{\"k\":1}", want: obj},
		{name: "prose around", raw: "Sure! Here is the synthesis: {\"k\":1} Let me know.", want: obj},
		{name: "skips brace prose", raw: `a {x} b {"k":1}`, want: obj},
		{name: "skips bracket prose", raw: `see [the docs] and [x, y] then {"k":1}`, want: obj},
		{name: "skips an unclosed object", raw: `{"k": 0, oops {"k":1}`, want: obj},
		{name: "nested braces inside strings", raw: `pre {"a":"}{ ] [ {\"x\":1}","b":{"c":[{"d":"}"}]}} post`, want: map[string]any{
			"a": `}{ ] [ {"x":1}`,
			"b": map[string]any{"c": []any{map[string]any{"d": "}"}}},
		}},
		{name: "braces in prose strings", raw: `he said "{" then {"k":1}`, want: obj},
		{name: "big integers keep every digit", raw: `{"id": 123456789012345678901234567890, "f": 0.10000000000000000000001}`, want: map[string]any{
			"id": json.Number("123456789012345678901234567890"),
			"f":  json.Number("0.10000000000000000000001"),
		}},
		{name: "unicode", raw: "Réponse : {\"note\":\"naïve 😀 \\u00e9\"}", want: map[string]any{"note": "naïve 😀 é"}},
		{name: "first of two values", raw: `{"k":1} {"k":2}`, want: obj},
		{name: "empty object", raw: `x {} y`, want: map[string]any{}},
		{name: "inner object of a truncated one", raw: `{"outer": {"k":1}, "cut": `, want: obj},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := extract(tc.raw, "")
			if err != nil {
				t.Fatalf("extract() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("extract() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExtractNoJSON(t *testing.T) {
	cases := []struct {
		name string
		raw  string
	}{
		{name: "empty", raw: ""},
		{name: "prose", raw: "I could not decide, sorry."},
		{name: "prose with braces", raw: "a {x} b [y] c {"},
		{name: "scalar outside a fence", raw: `"just a string" 42 true`},
		{name: "truncated", raw: `{"synthesis_reasoning": "the agents`},
		{name: "plain fence with a scalar", raw: "```\n42\n```"},
		{name: "plain fence with a string", raw: "```\n\"make test\"\n```"},
		{name: "hostile nesting", raw: strings.Repeat("[", MaxInputBytes)},
		{name: "hostile objects", raw: strings.Repeat(`{"a":`, MaxInputBytes/5)},
		{name: "invalid UTF-8 only", raw: "\xff\xfe{"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := extract(tc.raw, "")
			if err == nil {
				t.Fatalf("extract() = %.200v, want an error", got)
			}
			if !errs.Is(err, errs.CodeUnprocessable) {
				t.Fatalf("extract() error = %v, want code %q", err, errs.CodeUnprocessable)
			}
			if !strings.Contains(err.Error(), "no JSON") {
				t.Errorf("extract() error = %q, want it to say no JSON was found", err)
			}
		})
	}
}

// TestExtractFindsJSONAfterHostilePrefix shows the scan budget is large
// enough for realistic junk before the JSON.
func TestExtractFindsJSONAfterHostilePrefix(t *testing.T) {
	raw := strings.Repeat("[", 200) + " prose " + strings.Repeat("{x} ", 10000) + `{"k":1}`
	got, err := extract(raw, "")
	if err != nil {
		t.Fatalf("extract() error = %v", err)
	}
	if diff := cmp.Diff(map[string]any{"k": json.Number("1")}, got); diff != "" {
		t.Errorf("extract() mismatch (-want +got):\n%s", diff)
	}
}

func TestExtractInvalidUTF8IsReplaced(t *testing.T) {
	got, err := extract("{\"k\":\"a\xffb\"}", "")
	if err != nil {
		t.Fatalf("extract() error = %v", err)
	}
	if diff := cmp.Diff(map[string]any{"k": "a\uFFFDb"}, got); diff != "" {
		t.Errorf("extract() mismatch (-want +got):\n%s", diff)
	}
}

func TestExtractWantedRoot(t *testing.T) {
	obj := map[string]any{"k": json.Number("1")}
	cases := []struct {
		name string
		raw  string
		want string
		out  any
	}{
		{name: "either takes the first", raw: `see [1]: {"k":1}`, want: "", out: []any{json.Number("1")}},
		{name: "object skips a citation", raw: `see [1]: {"k":1}`, want: "object", out: obj},
		{name: "array skips an object", raw: `{"k":1} then [2]`, want: "array", out: []any{json.Number("2")}},
		{name: "object root never yields its inner array", raw: `{"k":[1]}`, want: "array", out: map[string]any{"k": []any{json.Number("1")}}},
		{name: "array root never yields its inner object", raw: `[{"k":1}]`, want: "object", out: []any{obj}},
		{name: "no value of the wanted type", raw: `[1] and [2]`, want: "object", out: []any{json.Number("1")}},
		{name: "fence wins over the wanted type", raw: "```json\n[1]\n```\n{\"k\":1}", want: "object", out: []any{json.Number("1")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := extract(tc.raw, tc.want)
			if err != nil {
				t.Fatalf("extract() error = %v", err)
			}
			if diff := cmp.Diff(tc.out, got); diff != "" {
				t.Errorf("extract() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
