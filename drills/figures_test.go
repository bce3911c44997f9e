package drills

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// figures are what a drill measured, printed as a Markdown table at the end
// (docs/RELIABILITY.md quotes them) and written to
// $DRILLS_FIGURES_DIR/<drill>.md when that variable is set.
type figures struct {
	name  string
	start time.Time

	mu   sync.Mutex
	rows [][2]string
}

func newFigures(t *testing.T, name string) *figures {
	f := &figures{name: name, start: time.Now()}
	t.Cleanup(func() { f.report(t) })
	return f
}

// add records one figure; v is formatted with %v.
func (f *figures) add(key string, v any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows = append(f.rows, [2]string{key, fmt.Sprint(v)})
}

// addf records one figure formatted with format.
func (f *figures) addf(key, format string, args ...any) { f.add(key, fmt.Sprintf(format, args...)) }

// check records an invariant and fails the test when it does not hold.
func (f *figures) check(t *testing.T, invariant string, ok bool, format string, args ...any) {
	t.Helper()
	result := "holds"
	if !ok {
		result = "VIOLATED: " + fmt.Sprintf(format, args...)
		t.Errorf("invariant %q: %s", invariant, fmt.Sprintf(format, args...))
	}
	f.add("invariant: "+invariant, result)
}

// statuses formats a status → count map in status order.
func statuses(m map[int]int) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func (f *figures) report(t *testing.T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "| %s drill | |\n|---|---|\n", f.name)
	for _, r := range f.rows {
		fmt.Fprintf(&b, "| %s | %s |\n", r[0], strings.ReplaceAll(r[1], "|", `\|`))
	}
	fmt.Fprintf(&b, "| duration (whole drill) | %s |\n", time.Since(f.start).Round(100*time.Millisecond))
	if t.Failed() {
		b.WriteString("| result | FAILED |\n")
	}
	t.Logf("figures:\n%s", b.String())
	if dir := os.Getenv("DRILLS_FIGURES_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err == nil {
			_ = os.WriteFile(filepath.Join(dir, f.name+".md"), []byte(b.String()), 0o644)
		}
	}
}
