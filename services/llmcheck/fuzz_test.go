package llmcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// FuzzExtract checks extract never panics, fails only with the documented
// error, and that what it finds survives a marshal and a second extraction.
func FuzzExtract(f *testing.F) {
	f.Add(`a {x} b {"k":1}`)
	f.Add("```json\n{\"k\": [1, 2.5e3, \"}\"]}\n```")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := extract(raw, "")
		if err != nil {
			if !errs.Is(err, errs.CodeUnprocessable) {
				t.Fatalf("extract() error = %v, want code %q", err, errs.CodeUnprocessable)
			}
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal extracted value: %v", err)
		}
		if jsonType(v) == "" {
			return // a scalar only comes from a ```json fence
		}
		again, err := extract(string(b), "")
		if err != nil {
			t.Fatalf("extract(%s) error = %v", b, err)
		}
		if diff := cmp.Diff(v, again); diff != "" {
			t.Fatalf("re-extraction mismatch (-first +second):\n%s", diff)
		}
	})
}

// FuzzCheck checks, for every kind, that Check never panics, fails only with
// an *errs.Error, and that accepted data validates against an independently
// compiled schema and is accepted unchanged when checked again.
func FuzzCheck(f *testing.F) {
	c := newChecker(f)
	independent := independentSchemas(f)
	f.Add(`{"decision":"approve","confidence":1,"reasoning":"ok"}`)
	f.Add(`[{"pattern_type":"skill_gap","root_cause":"r","suggested_fix":"f","confidence":0.5}]`)
	f.Fuzz(func(t *testing.T, raw string) {
		for _, k := range kinds() {
			// raw itself rarely passes a schema, so it is also tried as every
			// string field of an otherwise valid answer.
			for _, answer := range []string{raw, answerWith(t, k, raw)} {
				checkProperties(t, c, independent, k, answer)
			}
		}
	})
}

// checkProperties asserts the FuzzCheck properties for one answer.
func checkProperties(t *testing.T, c *Checker, independent map[Kind]*jsonschema.Schema, k Kind, raw string) {
	t.Helper()
	res, err := c.Check(k, raw)
	if err != nil {
		var e *errs.Error
		if !errors.As(err, &e) || e.Code != errs.CodeUnprocessable {
			t.Fatalf("Check(%s) error = %v (%T), want an *errs.Error with code %q", k, err, err, errs.CodeUnprocessable)
		}
		return
	}
	if !res.Valid || res.Warnings == nil {
		t.Fatalf("Check(%s) = %+v, want Valid with non-nil warnings", k, res)
	}
	for _, w := range res.Warnings {
		if !utf8.ValidString(w.Excerpt) || utf8.RuneCountInString(w.Excerpt) > excerptRunes {
			t.Fatalf("Check(%s) warning excerpt %q is not valid UTF-8 of at most %d characters", k, w.Excerpt, excerptRunes)
		}
	}
	if err := independent[k].Validate(res.Data); err != nil {
		t.Fatalf("Check(%s) accepted data the schema rejects: %v", k, err)
	}
	b, err := json.Marshal(res.Data)
	if err != nil {
		t.Fatalf("marshal accepted data: %v", err)
	}
	if len(b) > MaxInputBytes {
		return
	}
	again, err := c.Check(k, string(b))
	if err != nil {
		t.Fatalf("Check(%s) rejected its own output %s: %v", k, b, err)
	}
	if diff := cmp.Diff(res.Data, again.Data); diff != "" {
		t.Fatalf("Check(%s) changed its own output (-first +second):\n%s", k, diff)
	}
}

// answerWith returns a valid answer of kind k with s in every free-text
// field and as a key (enum fields get a valid value in odd case and spacing),
// fenced when s is even-length so both extraction paths are exercised.
func answerWith(t *testing.T, k Kind, s string) string {
	t.Helper()
	var v any
	switch k {
	case KindSynthesis:
		v = map[string]any{
			"synthesis_reasoning": "reasoning " + s,
			"action_plan":         []any{map[string]any{"priority": 1, "type": " Fix\t", "issue": "issue " + s, "agent": "a " + s}},
			s:                     s,
		}
	case KindConsensus:
		v = map[string]any{"decision": "APPROVE ", "confidence": 0.5, "reasoning": s, "concerns": []any{s}, s: s}
	case KindPatterns:
		v = []any{map[string]any{"pattern_type": " Skill_Gap", "root_cause": s, "suggested_fix": s, "agents_involved": []any{s}, "confidence": 1, s: s}}
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal answer: %v", err)
	}
	if len(s)%2 == 0 {
		return "Answer:\n```json\n" + string(b) + "\n```"
	}
	return "Answer: " + string(b)
}

// independentSchemas compiles the schema files from disk with a compiler of
// its own, so the fuzz test does not trust the Checker's compiled schemas.
func independentSchemas(tb testing.TB) map[Kind]*jsonschema.Schema {
	tb.Helper()
	c := jsonschema.NewCompiler()
	out := map[Kind]*jsonschema.Schema{}
	for _, k := range kinds() {
		data, err := os.ReadFile("schemas/" + string(k) + ".json")
		if err != nil {
			tb.Fatalf("read schema: %v", err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			tb.Fatalf("parse schema: %v", err)
		}
		url := "file:///independent/" + string(k) + ".json"
		if err := c.AddResource(url, doc); err != nil {
			tb.Fatalf("add schema: %v", err)
		}
		sch, err := c.Compile(url)
		if err != nil {
			tb.Fatalf("compile schema: %v", err)
		}
		out[k] = sch
	}
	return out
}
