package llmcheck

import (
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/golden-architecture/control-plane/services/errs"
)

// extract finds the JSON value an LLM answer carries, so the same rules serve
// Check and fuzzing. In order of preference it returns:
//
//  1. the value of the first ```json fenced block that holds one (when the
//     block holds more than a value, the first object or array inside it);
//  2. the value of the first plain ``` fenced block whose whole content is a
//     JSON object or array (a bare 404 or "make test" there is a snippet);
//  3. the first complete JSON object or array anywhere in the text, found by
//     decoding from each '{' or '[' in turn, so `a {x} b {"k":1}` yields
//     {"k":1}.
//
// Numbers are decoded as json.Number so large integers survive unchanged.
// When nothing is found the error is an *errs.Error with code
// errs.CodeUnprocessable.
//
// Step 3 takes objects and arrays alike, so prose such as "see [1]" before an
// unfenced object is what extract returns for want "". Check, which knows the
// root type it wants, passes "object" or "array" in want ("" takes either):
// when the first complete value of step 3 has the other type, the text after
// it is searched for one of the wanted type, so "see [1]: {...}" yields the
// object. Values nested inside the first
// one are never considered, so an object root never yields its inner array.
func extract(raw, want string) (any, error) {
	sc := scanner{budget: 4*len(raw) + 64<<10}
	fences := findFences(raw)
	for _, f := range fences {
		if f.tag != "json" {
			continue
		}
		if v, ok := decodeWhole(f.body); ok {
			return v, nil
		}
		if v, _, ok := sc.first(f.body); ok {
			return v, nil
		}
	}
	for _, f := range fences {
		body := strings.TrimSpace(f.body)
		if f.tag != "" || body == "" || (body[0] != '{' && body[0] != '[') {
			continue
		}
		if v, ok := decodeWhole(body); ok {
			return v, nil
		}
	}
	if v, end, ok := sc.first(raw); ok {
		for rest := raw[end:]; want != "" && jsonType(v) != want; {
			w, next, ok := sc.first(rest)
			if !ok {
				break
			}
			if jsonType(w) == want {
				return w, nil
			}
			rest = rest[next:]
		}
		return v, nil
	}
	return nil, errs.New(errs.CodeUnprocessable, "no JSON object or array found in the llm response")
}

// decodeWhole decodes s when it is exactly one JSON value and whitespace.
func decodeWhole(s string) (any, bool) {
	dec := newDecoder(strings.NewReader(s))
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if strings.TrimSpace(s[dec.InputOffset():]) != "" {
		return nil, false
	}
	return v, true
}

// newDecoder returns a decoder that keeps numbers as json.Number.
func newDecoder(r io.Reader) *json.Decoder {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	return dec
}

// scanner searches text for the first complete JSON value. Trying every '{'
// and '[' is quadratic on hostile input such as 200 KiB of "[[[[", so the
// bytes all attempts may read are capped; past the cap the search gives up.
type scanner struct {
	budget int
}

// attemptCost is what one decoding attempt costs beyond the bytes it reads:
// a decoder and its buffer. It bounds the attempts on input made of many
// short fragments, such as thousands of small fences of "[[[[".
const attemptCost = 256

// errScanBudget stops a decoder once the scanner's budget is spent.
var errScanBudget = errors.New("llmcheck: scan budget exhausted")

// first returns the first complete object or array in s and the offset just
// past it.
func (sc *scanner) first(s string) (v any, end int, ok bool) {
	for i := 0; i < len(s); i++ {
		k := strings.IndexAny(s[i:], "{[")
		if k < 0 {
			return nil, 0, false
		}
		i += k
		if !plausibleStart(s[i:]) {
			continue
		}
		if sc.budget <= 0 {
			return nil, 0, false
		}
		sc.budget -= attemptCost
		dec := newDecoder(&budgetReader{s: s[i:], sc: sc})
		if err := dec.Decode(&v); err == nil {
			return v, i + int(dec.InputOffset()), true
		}
	}
	return nil, 0, false
}

// jsonType names the type of a decoded object or array.
func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return ""
}

// plausibleStart cheaply rejects a '{' or '[' that cannot open a JSON value,
// so ordinary prose costs no decoder.
func plausibleStart(s string) bool {
	rest := strings.TrimLeft(s[1:], " \t\r\n")
	if rest == "" {
		return false
	}
	if s[0] == '{' {
		return rest[0] == '"' || rest[0] == '}'
	}
	return strings.IndexByte(`{["-0123456789tfn]`, rest[0]) >= 0
}

// budgetReader reads s while its scanner has budget left.
type budgetReader struct {
	s  string
	sc *scanner
}

// Read implements io.Reader, charging every byte to the scanner.
func (r *budgetReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	if r.sc.budget <= 0 {
		return 0, errScanBudget
	}
	n := min(len(p), r.sc.budget)
	n = copy(p[:n], r.s)
	r.s = r.s[n:]
	r.sc.budget -= n
	return n, nil
}
