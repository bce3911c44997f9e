package config

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readEnvExample returns the variables of .env.example with their values,
// leaving out the section that only docker compose reads.
func readEnvExample(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "# --- docker compose only") {
			break
		}
		if name, value, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			vars[name] = value
		}
	}
	return vars
}

// TestEnvExampleListsEveryVariable keeps .env.example the one complete list:
// a variable Load reads but the file lacks is undocumented, one the file has
// but Load ignores is a promise the service does not keep.
func TestEnvExampleListsEveryVariable(t *testing.T) {
	example := readEnvExample(t)
	read := map[string]bool{}
	if _, err := Load(func(name string) string { read[name] = true; return "" }); err != nil {
		t.Fatal(err)
	}
	var missing, ignored []string
	for name := range read {
		_, listed := example[name]
		secretFile := strings.HasSuffix(name, "_FILE") && read[strings.TrimSuffix(name, "_FILE")]
		if !listed && !secretFile {
			missing = append(missing, name)
		}
	}
	for name := range example {
		if !read[name] {
			ignored = append(ignored, name)
		}
	}
	sort.Strings(missing)
	sort.Strings(ignored)
	if len(missing) > 0 {
		t.Errorf("Load reads %v, which .env.example does not list", missing)
	}
	if len(ignored) > 0 {
		t.Errorf(".env.example lists %v, which Load never reads", ignored)
	}
}

// TestEnvExampleShowsTheDefaults holds the file to its first line: the
// values shown are the defaults.
func TestEnvExampleShowsTheDefaults(t *testing.T) {
	example := readEnvExample(t)
	got, err := Load(func(name string) string { return example[name] })
	if err != nil {
		t.Fatalf("Load(.env.example): %v", err)
	}
	want, err := Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf(".env.example differs from the defaults (-default +example):\n%s", diff)
	}
}
