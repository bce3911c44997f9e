package llmcheck

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// WarningKind names a kind of suspicious content. It is a warning, not a
// rejection: an answer about a database may legitimately quote SQL.
type WarningKind string // @name WarningKind

// The kinds of suspicious content Check reports.
const (
	// WarnSQLInjection is a SQL statement chained after a semicolon, such as
	// "x'; DROP TABLE users", or a UNION SELECT.
	WarnSQLInjection WarningKind = "sql_injection"
	// WarnScriptTag is an HTML <script> tag.
	WarnScriptTag WarningKind = "script_tag"
	// WarnShellMetachar is shell syntax that runs or chains commands: $(,
	// a `command` in backticks, &&, ||, "; rm ", "| sh", ">/dev/".
	WarnShellMetachar WarningKind = "shell_metachar"
	// WarnPathTraversal is a "../" or "..\" path segment.
	WarnPathTraversal WarningKind = "path_traversal"
	// WarnNULByte is a NUL character.
	WarnNULByte WarningKind = "nul_byte"
)

// Warning is one suspicious string inside accepted data: where it is, what it
// looks like, and a short excerpt around the match for a human to judge.
type Warning struct {
	Path    string      `json:"path" example:"/action_plan/0/issue"`
	Kind    WarningKind `json:"kind" example:"sql_injection"`
	Excerpt string      `json:"excerpt" example:"Retry storm; DROP TABLE users"`
} // @name ValidationWarning

// The excerpt of a warning: up to excerptRunes characters, starting up to
// excerptLead characters before the match.
const (
	excerptRunes = 60
	excerptLead  = 20
)

// rule finds the first match of one kind of suspicious content, as the byte
// offsets regexp.FindStringIndex returns, or nil. A string for which maybe
// is false cannot match, which spares ordinary prose the regexp (the scan
// would otherwise dominate the cost of Check).
type rule struct {
	kind  WarningKind
	maybe func(string) bool
	find  func(string) []int
}

// anyOf returns a rule prefilter that passes strings holding any byte of set.
func anyOf(set string) func(string) bool {
	return func(s string) bool { return strings.ContainsAny(s, set) }
}

// maybeSQL passes strings that hold a semicolon or "union" in any case.
func maybeSQL(s string) bool {
	if strings.IndexByte(s, ';') >= 0 {
		return true
	}
	for i := strings.IndexAny(s, "uU"); i >= 0 && i+5 <= len(s); {
		if strings.EqualFold(s[i:i+5], "union") {
			return true
		}
		next := strings.IndexAny(s[i+1:], "uU")
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return false
}

// detector holds the compiled rules; it is read-only after construction.
type detector struct {
	rules []rule
}

// sqlStatement is a statement chained after a semicolon. A bare keyword is not
// enough ("done; update the docs" is prose), so each keyword must be followed
// by the words that make it a statement ("; UPDATE users SET", "; DROP TABLE").
// UNION SELECT is reported with or without a semicolon.
const sqlStatement = `(?i)(?:;\s*(?:` +
	`drop\s+(?:table|database|schema|view|index|user|role|procedure|function|trigger)\b` +
	`|delete\s+from\b` +
	"|update\\s+[\\w.\"`\\[\\]]+\\s+set\\b" +
	`|insert\s+into\b` +
	`|alter\s+(?:table|database|schema|user|role|view)\b` +
	`|exec(?:ute)?(?:\s+(?:immediate\b|xp_|sp_|master\.)|\s*\()` +
	`|truncate\s+(?:table\b|[\w."]+\s*(?:;|--|$))` +
	`|create\s+(?:or\s+replace\s+)?(?:temp(?:orary)?\s+)?(?:table|database|schema|user|role|function|procedure|trigger|view|index)\b` +
	`|grant\s+(?:all(?:\s+privileges)?|select|insert|update|delete|execute|usage|connect|create)(?:\s*,\s*\w+)*\s+(?:on|to)\b` +
	`)|\bunion\s+(?:all\s+)?select\b)`

// shellSyntax is shell syntax that substitutes, chains or redirects commands.
// A lone backtick is not reported, only a backticked span.
const shellSyntax = "\\$\\(|`[^`\\n]+`|&&|\\|\\||;\\s*rm\\s|\\|\\s*(?:ba|da|k|z)?sh\\b|>\\s*/dev/"

// newDetector compiles the rules. The patterns are constants, so a failure
// to compile is a bug caught by every test.
func newDetector() *detector {
	return &detector{rules: []rule{
		{WarnSQLInjection, maybeSQL, regexp.MustCompile(sqlStatement).FindStringIndex},
		{WarnScriptTag, anyOf("<"), regexp.MustCompile(`(?i)<script\b`).FindStringIndex},
		{WarnShellMetachar, anyOf("$`&|;>"), regexp.MustCompile(shellSyntax).FindStringIndex},
		{WarnPathTraversal, func(s string) bool { return strings.Contains(s, "..") }, regexp.MustCompile(`\.\.[/\\]`).FindStringIndex},
		{WarnNULByte, anyOf("\x00"), func(s string) []int {
			if i := strings.IndexByte(s, 0); i >= 0 {
				return []int{i, i + 1}
			}
			return nil
		}},
	}}
}

// scan reports suspicious content in every string value and object key of v,
// at most maxReported warnings (truncated tells whether more were found).
// Object keys are visited in sorted order so the list is deterministic.
func (d *detector) scan(v any) (warnings []Warning, truncated bool) {
	s := scanState{d: d, out: []Warning{}}
	s.walk(v, nil)
	return s.out, s.truncated
}

// scanState is the state of one detector.scan call.
type scanState struct {
	d         *detector
	out       []Warning
	truncated bool
}

// walk checks v, whose path is the token stack path.
func (s *scanState) walk(v any, path []string) {
	switch x := v.(type) {
	case string:
		s.check(x, path)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			child := append(path, k)
			s.check(k, child)
			s.walk(x[k], child)
		}
	case []any:
		for i, e := range x {
			s.walk(e, append(path, strconv.Itoa(i)))
		}
	}
}

// check applies every rule to str, reporting each kind once per path.
func (s *scanState) check(str string, tokens []string) {
	var path string
	for _, r := range s.d.rules {
		if !r.maybe(str) {
			continue
		}
		loc := r.find(str)
		if loc == nil {
			continue
		}
		if path == "" {
			path = pointer(tokens)
		}
		if s.seen(path, r.kind) {
			continue
		}
		if len(s.out) == maxReported {
			s.truncated = true
			return
		}
		s.out = append(s.out, Warning{Path: path, Kind: r.kind, Excerpt: excerpt(str, loc[0])})
	}
}

// seen reports whether path already has a warning of kind k (an object key
// and its value share a path). Warnings of one path are appended together,
// so only the tail of the list needs checking.
func (s *scanState) seen(path string, k WarningKind) bool {
	for i := len(s.out) - 1; i >= 0 && s.out[i].Path == path; i-- {
		if s.out[i].Kind == k {
			return true
		}
	}
	return false
}

// excerpt returns up to excerptRunes characters of s around the match that
// starts at byte offset start, cut on character boundaries.
func excerpt(s string, start int) string {
	b := start
	for n := 0; n < excerptLead && b > 0; n++ {
		_, size := utf8.DecodeLastRuneInString(s[:b])
		b -= size
	}
	e := b
	for n := 0; n < excerptRunes && e < len(s); n++ {
		_, size := utf8.DecodeRuneInString(s[e:])
		e += size
	}
	return strings.ToValidUTF8(s[b:e], "\uFFFD")
}
