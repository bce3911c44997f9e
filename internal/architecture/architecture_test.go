package architecture

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// layer is a part of the module and what its non-test code may import.
type layer struct {
	// may lists the layers it may import; "*" is any.
	may []string
	// never lists import paths outside the module it must not use (a path
	// and everything below it).
	never []string
	// why explains the rule in the failure message.
	why string
}

// gin is the HTTP framework: only the HTTP layers know it.
const gin = "github.com/gin-gonic/gin"

// layers are DESIGN §3 and the whiteboard's arrows. Test files are not
// checked: tests may read rows (models) to assert stored state, and start
// whole servers.
var layers = map[string]layer{
	"main":       {may: []string{"app", "config", "migrations", "services", "platform", "internal/apispec"}, why: "the command lines run the app, the subcommands and the API description generator; nothing above services sees a row"},
	"suite":      {may: []string{"*"}, why: "test suites (drills, e2e, deploy) hold test code only"},
	"app":        {may: []string{"config", "handlers", "middleware", "services", "platform", "migrations"}, why: "the composition root wires; it converts no rows"},
	"handlers":   {may: []string{"middleware", "services", "docs", "web"}, why: "handlers convert service types to DTOs, never rows, and read no config"},
	"middleware": {may: []string{"services"}, why: "the request chain uses services, never endpoints"},
	"services":   {may: []string{"services", "models"}, never: []string{gin}, why: "business rules know no HTTP, no config, and reach stores through interfaces they declare"},
	"models":     {never: []string{gin}, why: "tables know no rules"},
	"platform":   {may: []string{"platform"}, never: []string{gin}, why: "connections and stores need no migration runner and no business rule"},
	"migrations": {may: []string{"platform"}, never: []string{gin}, why: "the runner needs only the database"},
	"config":     {never: []string{gin}, why: "config is a leaf read by the app only"},
	"docs":       {why: "generated swagger documents"},
	"web":        {why: "the operator console's built files, embedded; served by handlers"},
	"testenv":    {may: []string{"app", "config", "internal/dbtest"}, why: "the test harness starts the app as main does"},
	"dbtest":     {may: []string{"migrations", "platform"}, why: "service tests use it, so it cannot reach the app"},
	"metrictest": {why: "service tests read their metrics with it; it imports nothing of the module"},
	"apispec":    {may: []string{"middleware", "services", "docs"}, why: "the API description generator reads the annotations and the error vocabulary, not the app"},
	"arch":       {why: "this test"},
}

// layerOf names the layer of a package by its path inside the module; ""
// for a folder no layer claims.
func layerOf(rel string) string {
	top, _, _ := strings.Cut(rel, "/")
	switch {
	case rel == "" || top == "cmd":
		return "main"
	case rel == "drills" || rel == "e2e" || rel == "deploy":
		return "suite"
	case rel == "internal/testenv":
		return "testenv"
	case rel == "internal/dbtest":
		return "dbtest"
	case rel == "internal/metrictest":
		return "metrictest"
	case rel == "internal/apispec":
		return "apispec"
	case rel == "internal/architecture":
		return "arch"
	}
	if _, ok := layers[top]; ok && top != "main" && top != "suite" {
		return top
	}
	return ""
}

// check returns every import of graph (package path → its imports) that
// breaks the rules, one message each, sorted.
func check(module string, graph map[string][]string) []string {
	var out []string
	inside := func(path string) (string, bool) {
		if path == module {
			return "", true
		}
		rel, ok := strings.CutPrefix(path, module+"/")
		return rel, ok
	}
	for pkg, imports := range graph {
		rel, _ := inside(pkg)
		from := layerOf(rel)
		if from == "" {
			out = append(out, fmt.Sprintf("%s belongs to no layer: place it in DESIGN §3's layout or add it to the layers of this test", pkg))
			continue
		}
		rule := layers[from]
		for _, imp := range imports {
			target, internal := inside(imp)
			if !internal {
				for _, bad := range rule.never {
					if imp == bad || strings.HasPrefix(imp, bad+"/") {
						out = append(out, fmt.Sprintf("%s (%s) imports %s: %s", pkg, from, imp, rule.why))
					}
				}
				continue
			}
			to := layerOf(target)
			if slices.Contains(rule.may, "*") || slices.Contains(rule.may, to) || slices.Contains(rule.may, target) {
				continue
			}
			out = append(out, fmt.Sprintf("%s (%s) imports %s (%s): %s", pkg, from, imp, orNone(to), rule.why))
		}
	}
	slices.Sort(out)
	return out
}

func orNone(layer string) string {
	if layer == "" {
		return "no layer"
	}
	return layer
}

// TestRulesCatchWrongImports feeds the checker graphs with one wrong arrow
// each, so the rules are shown to fail, and a graph that keeps them.
func TestRulesCatchWrongImports(t *testing.T) {
	const m = "example.com/cp"
	clean := map[string][]string{
		m:                       {m + "/app", m + "/config", m + "/migrations", m + "/services/budget"},
		m + "/cmd/loadtest":     {"net/http"},
		m + "/app":              {m + "/config", m + "/handlers", m + "/middleware", m + "/migrations", m + "/platform/database", m + "/services/budget"},
		m + "/handlers":         {gin, m + "/middleware", m + "/services/budget", m + "/services/cursor", m + "/docs"},
		m + "/middleware":       {gin, m + "/services/auth", m + "/services/errs"},
		m + "/services/budget":  {"gorm.io/gorm", m + "/models", m + "/services/audit", m + "/services/cursor"},
		m + "/models":           {"database/sql/driver"},
		m + "/platform/kv":      {"github.com/redis/go-redis/v9"},
		m + "/migrations":       {m + "/platform/database"},
		m + "/config":           {"github.com/ulule/limiter/v3"},
		m + "/internal/dbtest":  {m + "/migrations", m + "/platform/database"},
		m + "/internal/testenv": {m + "/app", m + "/config", m + "/internal/dbtest"},
	}
	if got := check(m, clean); len(got) != 0 {
		t.Fatalf("a graph that keeps the rules is refused:\n%s", strings.Join(got, "\n"))
	}
	tests := []struct {
		name     string
		from, to string
	}{
		{"a service imports a handler", "/services/budget", m + "/handlers"},
		{"a service imports middleware", "/services/dlq", m + "/middleware"},
		{"a service imports gin", "/services/auth", gin + "/binding"},
		{"a service reads config", "/services/budget", m + "/config"},
		{"a service reaches a store's package", "/services/auth", m + "/platform/kv"},
		{"a service reaches the app", "/services/stats", m + "/app"},
		{"a handler sees rows", "/handlers", m + "/models"},
		{"a handler reads config", "/handlers", m + "/config"},
		{"middleware reaches into endpoints", "/middleware", m + "/handlers"},
		{"the app converts rows", "/app", m + "/models"},
		{"a model knows a rule", "/models", m + "/services/errs"},
		{"opening a database needs the migration runner", "/platform/database", m + "/migrations"},
		{"a store imports a service", "/platform/kv", m + "/services/auth"},
		{"the runner imports a service", "/migrations", m + "/services/audit"},
		{"config imports a service", "/config", m + "/services/ratelimit"},
		{"the database test helper imports the app", "/internal/dbtest", m + "/app"},
		{"the command line reads rows", "", m + "/models"},
		{"a new folder outside the layout", "/gateway", "net/http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			graph := map[string][]string{}
			for k, v := range clean {
				graph[k] = v
			}
			graph[m+tt.from] = append(slices.Clone(graph[m+tt.from]), tt.to)
			got := check(m, graph)
			if len(got) != 1 || !strings.HasPrefix(got[0], m+tt.from+" ") {
				t.Errorf("violations = %q; want exactly one, of %s", got, m+tt.from)
			}
		})
	}
}

// TestModuleFollowsTheRules checks the module's real import graph.
func TestModuleFollowsTheRules(t *testing.T) {
	module, graph := importGraph(t)
	if len(graph) < 20 || graph[module+"/app"] == nil {
		t.Fatalf("go list found %d packages, no app: not this module's graph", len(graph))
	}
	if v := check(module, graph); len(v) > 0 {
		t.Errorf("imports that break DESIGN §3:\n%s", strings.Join(v, "\n"))
	}
}

// importGraph lists every package of the module with its non-test imports.
func importGraph(t *testing.T) (module string, graph map[string][]string) {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if root == "." || strings.TrimSpace(string(gomod)) == os.DevNull {
		t.Fatal("not inside a Go module")
	}
	run := func(args ...string) []byte {
		cmd := exec.Command("go", args...) // #nosec G204 -- fixed go list arguments
		cmd.Dir = root
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
	module = strings.TrimSpace(string(run("list", "-m")))
	graph = map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(run("list", "-json=ImportPath,Imports", "./...")))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list: %v", err)
		}
		graph[p.ImportPath] = p.Imports
	}
	return module, graph
}
