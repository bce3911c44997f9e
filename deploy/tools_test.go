package deploy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

// lookTool returns the path of an external checker, skipping the test when it
// is not installed (CI installs it; see .ci/run).
func lookTool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (apt-get install %s); CI runs this check", name, debianPackage)
	}
	return path
}

// runTool runs an external checker with a deadline and fails the test with
// its output when it exits non-zero.
func runTool(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestPromtool(t *testing.T) {
	promtool := lookTool(t, "promtool", "prometheus")
	tests := []struct {
		name string
		args []string
	}{
		{"check config", []string{"check", "config", "prometheus.yml"}},
		{"check rules", []string{"check", "rules", "alerts.yml"}},
		{"test rules", []string{"test", "rules", "alerts_test.yml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if out, err := runTool(t, ".", os.Environ(), promtool, tt.args...); err != nil {
				t.Errorf("promtool %s: %v\n%s", strings.Join(tt.args, " "), err, out)
			}
		})
	}

	// promtool has no PromQL linter of its own: the dashboard queries go
	// through it as recording rules, with the Grafana variable filled in.
	t.Run("dashboard queries parse", func(t *testing.T) {
		t.Parallel()
		var b strings.Builder
		b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
		for i, expr := range dashboardExprs(readDashboard(t)) {
			expr = strings.NewReplacer("$job", "control-plane", "$namespace", ".*", "$instance", ".*").Replace(expr)
			fmt.Fprintf(&b, "      - record: dashboard:query_%d\n        expr: %q\n", i, expr)
		}
		rules := filepath.Join(t.TempDir(), "dashboard-rules.yml")
		if err := os.WriteFile(rules, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := runTool(t, ".", os.Environ(), promtool, "check", "rules", rules); err != nil {
			t.Errorf("dashboard queries: %v\n%s", err, out)
		}
	})
}

// TestAmtool checks deploy/alertmanager.yml with Alertmanager's own parser.
// Debian's amtool (0.25) predates the webhook's url_file (0.26, the compose
// image is 0.27), so the check reads the same file with a literal url.
func TestAmtool(t *testing.T) {
	amtool := lookTool(t, "amtool", "prometheus-alertmanager")
	data, err := os.ReadFile("alertmanager.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "url_file: /alertmanager/webhook_url") {
		t.Fatal("alertmanager.yml no longer reads url_file: /alertmanager/webhook_url; update this test")
	}
	cfg := strings.ReplaceAll(string(data), "url_file: /alertmanager/webhook_url", "url: http://127.0.0.1:9/webhook")
	path := filepath.Join(t.TempDir(), "alertmanager.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runTool(t, ".", os.Environ(), amtool, "check-config", path); err != nil {
		t.Errorf("amtool check-config: %v\n%s", err, out)
	}
}

func TestDockerComposeConfig(t *testing.T) {
	compose := lookTool(t, "docker-compose", "docker-compose")
	required := []string{"JWT_SECRET", "POSTGRES_PASSWORD", "ADMIN_PASSWORD", "GRAFANA_ADMIN_PASSWORD"}

	// Start from this process's environment without any compose variable, and
	// an empty env file, so a developer's .env or exported secrets change nothing.
	var base []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "COMPOSE_") && !secretName.MatchString(name) {
			base = append(base, kv)
		}
	}
	envFile := filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(envFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	base = append(base, "API_ENV_FILE="+envFile)
	args := []string{"--env-file", envFile, "config", "-q"}

	t.Run("valid with the required secrets", func(t *testing.T) {
		t.Parallel()
		env := append([]string(nil), base...)
		for _, name := range required {
			env = append(env, name+"=test-only-value-that-is-long-enough-32b")
		}
		if out, err := runTool(t, "..", env, compose, args...); err != nil {
			t.Errorf("docker-compose config -q: %v\n%s", err, out)
		}
	})
	for _, missing := range required {
		t.Run("refuses without "+missing, func(t *testing.T) {
			t.Parallel()
			var env []string
			env = append(env, base...)
			for _, name := range required {
				if name != missing {
					env = append(env, name+"=test-only-value-that-is-long-enough-32b")
				}
			}
			out, err := runTool(t, "..", env, compose, args...)
			if err == nil {
				t.Fatalf("docker-compose config passed without %s; want it required", missing)
			}
			if !strings.Contains(out, missing) {
				t.Errorf("error does not name %s:\n%s", missing, out)
			}
		})
	}
}

// TestComposePassesEveryVariable runs docker-compose on a copy of .env.example
// with the required secrets filled in, and checks that every variable reaches
// the api with its value, except those compose sets itself (container paths
// and the URLs of its services) and compose's own, which must reach it empty.
func TestComposePassesEveryVariable(t *testing.T) {
	compose := lookTool(t, "docker-compose", "docker-compose")
	vars, composeOnly := envExample(t)
	required := map[string]string{
		"JWT_SECRET": "test-only-value-that-is-long-enough-32b", "POSTGRES_PASSWORD": "pg-test-only",
		"ADMIN_PASSWORD": "admin-test-only", "GRAFANA_ADMIN_PASSWORD": "grafana-test-only",
	}
	var b strings.Builder
	for _, kv := range vars {
		value := kv[1]
		if v, ok := required[kv[0]]; ok {
			value = v
		}
		fmt.Fprintf(&b, "%s=%s\n", kv[0], value)
	}
	envFile := filepath.Join(t.TempDir(), "test.env")
	if err := os.WriteFile(envFile, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "COMPOSE_") && !secretName.MatchString(name) {
			env = append(env, kv)
		}
	}
	env = append(env, "API_ENV_FILE="+envFile)
	out, err := runTool(t, "..", env, compose, "--env-file", envFile, "config")
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	var resolved map[string]any
	if err := yaml.Unmarshal([]byte(out), &resolved); err != nil {
		t.Fatalf("parse docker-compose config output: %v", err)
	}
	got, _ := dig(resolved, "services", "api", "environment").(map[string]any)
	composeSets := map[string]string{
		"HOST":           "0.0.0.0",
		"PORT":           "8000",
		"DATA_DIR":       "/data",
		"DATABASE_URL":   "postgres://control_plane:pg-test-only@postgres:5432/control_plane?sslmode=disable",
		"REDIS_URL":      "redis://redis:6379/0",
		"NATS_URL":       "nats://nats:4222",
		"ADMIN_USERNAME": "admin",
	}
	for _, kv := range vars {
		name, want := kv[0], kv[1]
		if v, ok := required[name]; ok {
			want = v
		}
		switch {
		case composeOnly[name]:
			want = ""
		case composeSets[name] != "":
			want = composeSets[name]
		}
		v, ok := got[name]
		if !ok {
			t.Errorf("%s does not reach the api service", name)
			continue
		}
		if str(v) != want {
			t.Errorf("api gets %s=%q, want %q", name, str(v), want)
		}
	}
}
