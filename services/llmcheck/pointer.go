package llmcheck

import "strings"

// pointer spells a path of reference tokens as a JSON pointer (RFC 6901), so
// violations and warnings name the exact value they are about. The root, ""
// in RFC 6901, is spelled "/", which reads better in an answer. Walks keep
// the tokens and build the string only when they report something, since
// building it at every level is quadratic in the nesting depth.
func pointer(tokens []string) string {
	if len(tokens) == 0 {
		return "/"
	}
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	return b.String()
}
