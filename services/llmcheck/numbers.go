package llmcheck

import (
	"encoding/json"
	"strconv"
	"strings"
)

// maxExponent bounds the decimal exponent of every number in an answer. The
// schema validator turns numbers into big.Rat values: an exponent near 1e6
// costs it about 20 ms per number and a larger one makes it dereference nil
// (jsonschema/v6 v6.0.3 ignores the failed conversion). A float64 never needs
// more than ±324, so anything past 1000 is refused before validation.
const maxExponent = 1000

// maxNumberLen bounds the length of every number literal: converting a
// 200,000-digit number costs the validator tens of milliseconds, and no
// answer needs more than a few dozen digits.
const maxNumberLen = 1000

// numberViolations lists every number inside v that is out of range, with the
// JSON pointer of each. path is the token stack of v.
func numberViolations(v any, path []string, out []Violation) []Violation {
	switch x := v.(type) {
	case json.Number:
		switch {
		case len(x) > maxNumberLen:
			out = append(out, Violation{Path: pointer(path), Message: "number is too long: at most 1000 characters"})
		case !exponentInRange(string(x)):
			out = append(out, Violation{Path: pointer(path), Message: "number is out of range: its exponent must be within ±1000"})
		}
	case map[string]any:
		for k, e := range x {
			out = numberViolations(e, append(path, k), out)
		}
	case []any:
		for i, e := range x {
			out = numberViolations(e, append(path, strconv.Itoa(i)), out)
		}
	}
	return out
}

// exponentInRange reports whether the exponent of the JSON number n is at
// most maxExponent in magnitude.
func exponentInRange(n string) bool {
	i := strings.IndexAny(n, "eE")
	if i < 0 {
		return true
	}
	exp := strings.TrimLeft(strings.TrimLeft(n[i+1:], "+-"), "0")
	if len(exp) > 4 {
		return false
	}
	e, err := strconv.Atoi("0" + exp)
	return err == nil && e <= maxExponent
}
