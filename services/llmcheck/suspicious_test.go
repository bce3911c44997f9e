package llmcheck

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestDetectorKinds(t *testing.T) {
	d := newDetector()
	cases := []struct {
		name string
		in   string
		want []WarningKind
	}{
		{name: "drop table", in: "fix it'; DROP TABLE users; --", want: []WarningKind{WarnSQLInjection}},
		{name: "delete from without space", in: "x;delete from accounts", want: []WarningKind{WarnSQLInjection}},
		{name: "update set", in: "1; UPDATE users SET role='admin'", want: []WarningKind{WarnSQLInjection}},
		{name: "insert into", in: "a;\n  insert into audit values (1)", want: []WarningKind{WarnSQLInjection}},
		{name: "alter table", in: "; ALTER TABLE t ADD x int", want: []WarningKind{WarnSQLInjection}},
		{name: "exec xp_cmdshell", in: "'; EXEC xp_cmdshell 'dir'", want: []WarningKind{WarnSQLInjection}},
		{name: "execute immediate", in: "; execute immediate 'x'", want: []WarningKind{WarnSQLInjection}},
		{name: "truncate table", in: "; TRUNCATE TABLE budgets", want: []WarningKind{WarnSQLInjection}},
		{name: "truncate bare table", in: "; truncate budgets;", want: []WarningKind{WarnSQLInjection}},
		{name: "create user", in: "; CREATE USER evil", want: []WarningKind{WarnSQLInjection}},
		{name: "create or replace function", in: "; create or replace function f()", want: []WarningKind{WarnSQLInjection}},
		{name: "grant all on", in: "; GRANT ALL PRIVILEGES ON db TO x", want: []WarningKind{WarnSQLInjection}},
		{name: "grant select insert on", in: "; grant select, insert on t to u", want: []WarningKind{WarnSQLInjection}},
		{name: "union select", in: "1' UNION ALL SELECT password FROM users", want: []WarningKind{WarnSQLInjection}},
		{name: "script tag", in: "hello <script>alert(1)</script>", want: []WarningKind{WarnScriptTag}},
		{name: "script tag upper case with attribute", in: `<SCRIPT src="x">`, want: []WarningKind{WarnScriptTag}},
		{name: "command substitution", in: "name $(whoami)", want: []WarningKind{WarnShellMetachar}},
		{name: "backticks", in: "run `id` now", want: []WarningKind{WarnShellMetachar}},
		{name: "and chain", in: "make && make install", want: []WarningKind{WarnShellMetachar}},
		{name: "or chain", in: "test -f x || exit 1", want: []WarningKind{WarnShellMetachar}},
		{name: "rm after semicolon", in: "ls; rm -rf /", want: []WarningKind{WarnShellMetachar}},
		{name: "pipe to sh", in: "curl https://x | sh", want: []WarningKind{WarnShellMetachar}},
		{name: "pipe to bash", in: "curl https://x |bash", want: []WarningKind{WarnShellMetachar}},
		{name: "redirect to dev", in: "cat x >/dev/sda", want: []WarningKind{WarnShellMetachar}},
		{name: "dot dot slash", in: "open ../../etc/passwd", want: []WarningKind{WarnPathTraversal}},
		{name: "dot dot backslash", in: `open ..\..\windows`, want: []WarningKind{WarnPathTraversal}},
		{name: "NUL byte", in: "abc\x00def", want: []WarningKind{WarnNULByte}},
		{name: "several kinds", in: "<script>$(cat ../x)</script>\x00; DROP TABLE t", want: []WarningKind{
			WarnSQLInjection, WarnScriptTag, WarnShellMetachar, WarnPathTraversal, WarnNULByte,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws, _ := d.scan(tc.in)
			var got []WarningKind
			for _, w := range ws {
				got = append(got, w.Kind)
				if w.Path != "/" {
					t.Errorf("Path = %q, want %q", w.Path, "/")
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("kinds mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDetectorOrdinaryProse lists text an LLM writes every day that must not
// raise a warning.
func TestDetectorOrdinaryProse(t *testing.T) {
	d := newDetector()
	prose := []string{
		"costs $5; we should refactor",
		"The retry loop is broken; update the docs after fixing it.",
		"Tests fail; delete the stale fixture and create a new one.",
		"Merge the branch; drop the old flag next sprint.",
		"Review done; execute the plan; grant access to the new agent.",
		"Insert a check; alter the timeout; truncate the log message to 80 chars.",
		"The union of both selections is empty.",
		"Costs went from $3 to $5 (a 66% rise).",
		"Use the config in ./config/app.yaml and the docs at https://example.com/a/b.",
		"Wait... then retry.",
		"R&D and Q&A teams agree | see table.",
		"It's a `lone backtick.",
		"Scripts in <scripts/> and the description field are fine.",
		"Prices: 10 > 5 and 3 < 4.",
		"Naïve café 😀 — 日本語のテキスト",
		"C:\\Users\\agent\\notes.txt",
	}
	for _, s := range prose {
		if ws, _ := d.scan(s); len(ws) != 0 {
			t.Errorf("scan(%q) = %+v, want no warnings", s, ws)
		}
	}
}

// TestCheckWarnings shows warnings point at the exact value (or key) and the
// data is returned untouched.
func TestCheckWarnings(t *testing.T) {
	c := newChecker(t)
	raw := `{
  "synthesis_reasoning": "costs $5; we should refactor the sweeper",
  "action_plan": [
    {"priority": 1, "type": "fix", "issue": "x'; DROP TABLE users; --", "agent": "coder"},
    {"priority": 2, "type": "test", "issue": "read ../../etc/passwd", "agent": "$(whoami)"}
  ],
  "<script>": "alert(1)",
  "nul": "a\u0000b"
}`
	res, err := c.Check(KindSynthesis, raw)
	if err != nil {
		t.Fatalf("Check() error = %v; details %v", err, detailsOf(err))
	}
	want := []Warning{
		{Path: "/<script>", Kind: WarnScriptTag, Excerpt: "<script>"},
		{Path: "/action_plan/0/issue", Kind: WarnSQLInjection, Excerpt: "x'; DROP TABLE users; --"},
		{Path: "/action_plan/1/agent", Kind: WarnShellMetachar, Excerpt: "$(whoami)"},
		{Path: "/action_plan/1/issue", Kind: WarnPathTraversal, Excerpt: "read ../../etc/passwd"},
		{Path: "/nul", Kind: WarnNULByte, Excerpt: "a\x00b"},
	}
	if diff := cmp.Diff(want, res.Warnings); diff != "" {
		t.Errorf("warnings mismatch (-want +got):\n%s", diff)
	}
	data := res.Data.(map[string]any)
	if got := data["synthesis_reasoning"]; got != "costs $5; we should refactor the sweeper" {
		t.Errorf("synthesis_reasoning = %q, want it unchanged", got)
	}
	if got := data["action_plan"].([]any)[0].(map[string]any)["issue"]; got != "x'; DROP TABLE users; --" {
		t.Errorf("issue = %q, want it unchanged", got)
	}
}

func TestCheckNoWarningsOnProse(t *testing.T) {
	c := newChecker(t)
	raw := synthesisAnswer(t, func(m, item map[string]any) {
		m["synthesis_reasoning"] = "costs $5; we should refactor"
		item["issue"] = "The retry loop is broken; update the docs after fixing it."
	})
	res, err := c.Check(KindSynthesis, raw)
	if err != nil {
		t.Fatalf("Check() error = %v", err)
	}
	if len(res.Warnings) != 0 || res.Warnings == nil {
		t.Errorf("Warnings = %#v, want an empty, non-nil list", res.Warnings)
	}
	if got := res.Data.(map[string]any)["synthesis_reasoning"]; got != "costs $5; we should refactor" {
		t.Errorf("synthesis_reasoning = %q, want it unchanged", got)
	}
}

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("é", 100) + "; DROP TABLE users " + strings.Repeat("😀", 100)
	d := newDetector()
	ws, _ := d.scan(long)
	if len(ws) != 1 {
		t.Fatalf("scan() = %+v, want one warning", ws)
	}
	ex := ws[0].Excerpt
	if !utf8.ValidString(ex) {
		t.Errorf("excerpt %q is not valid UTF-8", ex)
	}
	if n := utf8.RuneCountInString(ex); n != excerptRunes {
		t.Errorf("excerpt has %d characters, want %d", n, excerptRunes)
	}
	if want := strings.Repeat("é", excerptLead) + "; DROP TABLE users"; !strings.HasPrefix(ex, want) {
		t.Errorf("excerpt = %q, want it to start with %q", ex, want)
	}
}

func TestDetectorCapsWarnings(t *testing.T) {
	list := make([]any, 150)
	for i := range list {
		list[i] = "a && b"
	}
	ws, truncated := newDetector().scan(map[string]any{"x": list})
	if len(ws) != maxReported || !truncated {
		t.Errorf("scan() = %d warnings, truncated %v; want %d, true", len(ws), truncated, maxReported)
	}
}

func TestDetectorKeyAndValueShareAPath(t *testing.T) {
	ws, _ := newDetector().scan(map[string]any{"a && b": "c && d"})
	want := []Warning{{Path: "/a && b", Kind: WarnShellMetachar, Excerpt: "a && b"}}
	if diff := cmp.Diff(want, ws); diff != "" {
		t.Errorf("scan() mismatch (-want +got):\n%s", diff)
	}
}
