package llmcheck

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/golden-architecture/control-plane/services/errs"
)

// newChecker builds a Checker or stops the test.
func newChecker(t testing.TB) *Checker {
	t.Helper()
	c, err := New()
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	return c
}

// toJSON marshals v or stops the test.
func toJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	return string(b)
}

// violations returns the violations of a schema mismatch, failing the test
// when err is something else.
func violations(t *testing.T, err error) []Violation {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *errs.Error", err, err)
	}
	if e.Code != errs.CodeUnprocessable {
		t.Fatalf("code = %q, want %q", e.Code, errs.CodeUnprocessable)
	}
	vs, ok := e.Details["errors"].([]Violation)
	if !ok {
		t.Fatalf("details.errors = %#v, want []Violation (message %q)", e.Details["errors"], e.Message)
	}
	return vs
}

// paths returns the paths of vs, in order.
func paths(vs []Violation) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Path
	}
	return out
}

// chars returns n copies of s, for strings of an exact character length.
func chars(s string, n int) string { return strings.Repeat(s, n) }

// checkCase is one answer and the violation paths it must produce; a nil
// wantPaths means the answer must be accepted.
type checkCase struct {
	name      string
	raw       string
	wantPaths []string
}

// runCheckCases checks every case against kind k.
func runCheckCases(t *testing.T, k Kind, cases []checkCase) {
	t.Helper()
	c := newChecker(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Check(k, tc.raw)
			if tc.wantPaths == nil {
				if err != nil {
					t.Fatalf("Check() error = %v, want valid; details %v", err, detailsOf(err))
				}
				if !res.Valid || res.Data == nil || res.Warnings == nil {
					t.Fatalf("Check() = %+v, want Valid with data and non-nil warnings", res)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check() accepted %.200s, want violations at %v", tc.raw, tc.wantPaths)
			}
			got := paths(violations(t, err))
			if strings.Join(got, " ") != strings.Join(tc.wantPaths, " ") {
				t.Errorf("violation paths = %q, want %q (details %v)", got, tc.wantPaths, detailsOf(err))
			}
		})
	}
}

// detailsOf returns the details of an *errs.Error, for failure messages.
func detailsOf(err error) any {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Details
	}
	return nil
}
