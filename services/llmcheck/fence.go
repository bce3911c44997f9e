package llmcheck

import "strings"

// fence is one ``` block of a Markdown answer: its language tag, lowercased,
// and its content.
type fence struct {
	tag  string
	body string
}

// findFences returns the ``` blocks of s in order. As in Markdown, a fence
// opens at the start of a line (after optional indentation) and closes at the
// start of a later line, so backticks inside a JSON string, which can never
// start a line, are not mistaken for fences. The one-line forms
// ```{"k":1}``` and ```json {"k":1}``` are accepted too. An unclosed fence is
// ignored.
func findFences(s string) []fence {
	var out []fence
	for pos := 0; ; {
		open := fenceAt(s, pos)
		if open < 0 {
			return out
		}
		rest := strings.TrimLeft(s[open:], "`")
		line, _, _ := strings.Cut(rest, "\n")
		bodyStart := len(s) - len(rest) + len(line) + 1
		if inner, ok := oneLine(line); ok {
			out = append(out, parseOneLine(inner))
			pos = min(bodyStart, len(s))
			continue
		}
		if bodyStart > len(s) {
			return out
		}
		closing := fenceAt(s, bodyStart)
		if closing < 0 {
			return out
		}
		out = append(out, parseBlock(line, s[bodyStart:closing]))
		pos = closing + 3
		if nl := strings.IndexByte(s[pos:], '\n'); nl >= 0 {
			pos += nl + 1
		} else {
			pos = len(s)
		}
	}
}

// fenceAt returns the index of the first ``` at or after from that starts a
// line (after spaces or tabs), or -1.
func fenceAt(s string, from int) int {
	for from < len(s) {
		i := strings.Index(s[from:], "```")
		if i < 0 {
			return -1
		}
		i += from
		j := i
		for j > 0 && (s[j-1] == ' ' || s[j-1] == '\t') {
			j--
		}
		if j == 0 || s[j-1] == '\n' {
			return i
		}
		from = i + 3
		for from < len(s) && s[from] == '`' {
			from++
		}
	}
	return -1
}

// oneLine reports whether the rest of an opening fence line also closes the
// fence (```{"k":1}```), returning what lies between.
func oneLine(line string) (string, bool) {
	line = strings.TrimRight(line, " \t\r")
	if !strings.HasSuffix(line, "```") {
		return "", false
	}
	inner := strings.TrimRight(line, "`")
	return inner, strings.TrimSpace(inner) != ""
}

// parseOneLine reads a one-line fence, whose tag (if any) is "json" directly
// before the value.
func parseOneLine(inner string) fence {
	trimmed := strings.TrimLeft(inner, " \t")
	if len(trimmed) > 4 && strings.EqualFold(trimmed[:4], "json") && strings.ContainsRune(" \t{[", rune(trimmed[4])) {
		return fence{tag: "json", body: trimmed[4:]}
	}
	return fence{body: inner}
}

// parseBlock reads a multi-line fence from its opening line (the info
// string) and its content. An opening line that starts the JSON itself
// ("```{") belongs to the content.
func parseBlock(info, body string) fence {
	info = strings.TrimSpace(info)
	if strings.HasPrefix(info, "{") || strings.HasPrefix(info, "[") {
		return fence{body: info + "\n" + body}
	}
	tag, _, _ := strings.Cut(info, " ")
	return fence{tag: strings.ToLower(tag), body: body}
}
