package llmcheck

import (
	"cmp"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/message"
)

// Violation is one rule an answer breaks, at the JSON pointer of the value
// that breaks it, so an agent can repair its answer in one round trip.
type Violation struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// maxReported caps the violations and the warnings of one answer: a 256 KiB
// answer can break a rule tens of thousands of times, and the first hundred
// say all a client can act on.
const maxReported = 100

// leaf is one failed keyword, with its message formatted only if reported.
type leaf struct {
	path    string
	keyword string
	kind    jsonschema.ErrorKind // nil for a missing property
}

// violationsOf flattens a validation error tree into its leaves, sorted by
// path (then keyword) so the same answer always yields the same list, and
// returns at most maxReported of them with the total count. A missing
// property is reported at the pointer it should have had.
func violationsOf(ve *jsonschema.ValidationError, p *message.Printer) (vs []Violation, total int) {
	var leaves []leaf
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		if req, ok := e.ErrorKind.(*kind.Required); ok {
			for _, name := range req.Missing {
				at := append(slices.Clip(e.InstanceLocation), name)
				leaves = append(leaves, leaf{path: pointer(at), keyword: "required"})
			}
			return
		}
		leaves = append(leaves, leaf{
			path:    pointer(e.InstanceLocation),
			keyword: strings.Join(e.ErrorKind.KeywordPath(), "/"),
			kind:    e.ErrorKind,
		})
	}
	walk(ve)
	slices.SortFunc(leaves, func(a, b leaf) int {
		return cmp.Or(cmp.Compare(a.path, b.path), cmp.Compare(a.keyword, b.keyword))
	})
	leaves = slices.CompactFunc(leaves, func(a, b leaf) bool { return a.path == b.path && a.keyword == b.keyword })
	for _, l := range leaves[:min(len(leaves), maxReported)] {
		msg := "required property is missing"
		if l.kind != nil {
			msg = l.kind.LocalizedString(p)
		}
		vs = append(vs, Violation{Path: l.path, Message: msg})
	}
	return vs, len(leaves)
}
