package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Port", c.Port, 8000},
		{"Host", c.Host, "127.0.0.1"},
		{"DataDir", c.DataDir, "./data"},
		{"SQLitePath", c.SQLitePath, filepath.Join("data", "control-plane.db")},
		{"DBMinConns", c.DBMinConns, 2},
		{"DBMaxConns", c.DBMaxConns, 10},
		{"LoginMaxAttempts", c.LoginMaxAttempts, 5},
		{"LoginLockoutTTL", c.LoginLockoutTTL, 900 * time.Second},
		{"ShutdownTimeout", c.ShutdownTimeout, 15 * time.Second},
		{"MigrateOnStart", c.MigrateOnStart, true},
		{"MaxBodyBytes", c.MaxBodyBytes, int64(1 << 20)},
		{"LogFormat", c.LogFormat, "json"},
		{"JWTTTL", c.JWTTTL, time.Hour},
		{"BcryptCost", c.BcryptCost, 12},
		{"SeedDemoUsers", c.SeedDemoUsers, true},
		{"Production", c.Production(), false},
		{"RateLimits", c.RateLimits, RateLimits{Admin: Rate{100, time.Minute}, Operator: Rate{50, time.Minute},
			Developer: Rate{30, time.Minute}, Observer: Rate{20, time.Minute}, Anonymous: Rate{5, time.Minute},
			Login: Rate{5, time.Minute}, BudgetRequest: Rate{30, time.Minute}, BreakerReset: Rate{5, time.Minute},
			Health: Rate{60, time.Minute}}},
		{"BudgetDefaultLimit", c.BudgetDefaultLimit, int64(100000)},
		{"BudgetCommitMaxRatio", c.BudgetCommitMaxRatio, 2.0},
		{"DefaultTenant", c.DefaultTenant, "default"},
		{"DLQStream", c.DLQStream, "DLQ"},
		{"BreakerFailureThreshold", c.BreakerFailureThreshold, 5},
	}
	for _, ch := range checks {
		if diff := cmp.Diff(ch.want, ch.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", ch.name, diff)
		}
	}
}

func TestLoadProduction(t *testing.T) {
	c, err := Load(env(map[string]string{
		"DATABASE_URL":       "postgres://u:pw@db:5432/app",
		"REDIS_URL":          "redis://:redispw@redis:6379/0",
		"JWT_SECRET":         strings.Repeat("s", 32),
		"CORS_ALLOW_ORIGINS": " https://a.example , https://b.example ,",
		"SHUTDOWN_TIMEOUT":   "20",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !c.Production() || c.SeedDemoUsers {
		t.Errorf("Production() = %v, SeedDemoUsers = %v; want true, false", c.Production(), c.SeedDemoUsers)
	}
	if diff := cmp.Diff([]string{"https://a.example", "https://b.example"}, c.CORSAllowOrigins); diff != "" {
		t.Errorf("CORSAllowOrigins (-want +got):\n%s", diff)
	}
	if c.RateLimitStorageURI != c.RedisURL {
		t.Errorf("RateLimitStorageURI = %q, want REDIS_URL", c.RateLimitStorageURI)
	}
	if c.ShutdownTimeout != 20*time.Second {
		t.Errorf("ShutdownTimeout = %s, want bare seconds accepted", c.ShutdownTimeout)
	}
	red := c.Redacted()
	for _, secret := range []string{"pw", "redispw", strings.Repeat("s", 32)} {
		for k, v := range red {
			if s, ok := v.(string); ok && strings.Contains(s, ":"+secret+"@") || v == secret {
				t.Errorf("redacted %s leaks a secret: %v", k, v)
			}
		}
	}
	if red["JWT_SECRET"] != Masked || red["DATABASE_URL"] != "postgres://u:xxxxx@db:5432/app" || red["REDIS_URL"] != "redis://:xxxxx@redis:6379/0" ||
		red["ADMIN_PASSWORD"] != "" || red["METRICS_BEARER_TOKEN"] != "" {
		t.Errorf("redacted = %v", red)
	}
}

// TestRedactedIsTheEnvironment: the redacted configuration is keyed by the
// variables Load reads, each of them, and its values are written the way
// those variables accept them: loaded back, they give the same configuration.
func TestRedactedIsTheEnvironment(t *testing.T) {
	read := map[string]bool{}
	if _, err := Load(func(name string) string {
		if !strings.HasSuffix(name, "_FILE") {
			read[name] = true
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	set := map[string]string{
		"REDIS_URL": "redis://redis:6379/1", "CORS_ALLOW_ORIGINS": "https://a.example,https://b.example",
		"TRUSTED_PROXIES": "10.0.0.0/8", "SHUTDOWN_TIMEOUT": "20", "LOGIN_LOCKOUT_TTL_SECONDS": "60",
		"RATE_LIMIT_LOGIN": "20-M", "BUDGET_RESERVATION_TTL": "90m", "SEED_DEMO_USERS": "false",
	}
	want, err := Load(env(set))
	if err != nil {
		t.Fatal(err)
	}
	red := want.Redacted()
	keys := map[string]bool{}
	for k := range red {
		keys[k] = true
	}
	if diff := cmp.Diff(read, keys); diff != "" {
		t.Errorf("Redacted keys differ from the variables Load reads (-read +redacted):\n%s", diff)
	}
	got, err := Load(func(name string) string {
		if v, ok := red[name]; ok {
			return fmt.Sprint(v)
		}
		return ""
	})
	if err != nil {
		t.Fatalf("Load(Redacted()): %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load(Redacted()) differs (-loaded +reloaded):\n%s", diff)
	}
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"port not a number", map[string]string{"PORT": "eighty"}, "PORT"},
		{"port out of range", map[string]string{"PORT": "70000"}, "PORT"},
		{"bad duration", map[string]string{"SHUTDOWN_TIMEOUT": "soon"}, "SHUTDOWN_TIMEOUT"},
		{"bad bool", map[string]string{"MIGRATE_ON_START": "maybe"}, "MIGRATE_ON_START"},
		{"bad log level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"bad rate", map[string]string{"RATE_LIMIT_LOGIN": "5 per minute"}, "RATE_LIMIT_LOGIN"},
		{"rate of no request", map[string]string{"RATE_LIMIT_ADMIN": "0-M"}, "RATE_LIMIT_ADMIN"},
		{"rate per week", map[string]string{"RATE_LIMIT_HEALTH": "10-W"}, "RATE_LIMIT_HEALTH"},
		{"short jwt secret", map[string]string{"JWT_SECRET": "short"}, "JWT_SECRET"},
		{"production without key", map[string]string{"DATABASE_URL": "postgres://db/app"}, "JWT_SECRET"},
		{"cors star", map[string]string{"CORS_ALLOW_ORIGINS": "*"}, "CORS_ALLOW_ORIGINS"},
		{"min above max", map[string]string{"DB_MIN_CONNS": "20", "DB_MAX_CONNS": "10"}, "DB_MIN_CONNS"},
		{"admin without password", map[string]string{"ADMIN_USERNAME": "root"}, "ADMIN_PASSWORD"},
		{"database url not a url", map[string]string{"DATABASE_URL": "localhost", "JWT_SECRET": strings.Repeat("x", 32)}, "DATABASE_URL"},
		{"fail mode", map[string]string{"RATE_LIMIT_FAIL_MODE": "sometimes"}, "RATE_LIMIT_FAIL_MODE"},
		{"dlq prefix wildcard", map[string]string{"DLQ_SUBJECT_PREFIX": "dlq.>"}, "DLQ_SUBJECT_PREFIX"},
		{"default tenant not a slug", map[string]string{"DEFAULT_TENANT": "My Team"}, "DEFAULT_TENANT"},
		{"default tenant upper case", map[string]string{"DEFAULT_TENANT": "Default"}, "DEFAULT_TENANT"},
		{"commit ratio below 1", map[string]string{"BUDGET_COMMIT_MAX_RATIO": "0.5"}, "BUDGET_COMMIT_MAX_RATIO"},
		{"commit ratio not a number", map[string]string{"BUDGET_COMMIT_MAX_RATIO": "twice"}, "BUDGET_COMMIT_MAX_RATIO"},
		{"commit ratio NaN", map[string]string{"BUDGET_COMMIT_MAX_RATIO": "NaN"}, "BUDGET_COMMIT_MAX_RATIO"},
		{"both value and file", map[string]string{"JWT_SECRET": strings.Repeat("x", 32), "JWT_SECRET_FILE": "/x"}, "JWT_SECRET"},
		{"missing secret file", map[string]string{"JWT_SECRET_FILE": "/nonexistent/secret"}, "JWT_SECRET_FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.env))
			if err == nil {
				t.Fatalf("Load(%v) = nil error, want one naming %s", tt.env, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want+":") {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
		})
	}
}

func TestLoadReportsEveryBadVariable(t *testing.T) {
	_, err := Load(env(map[string]string{"PORT": "x", "LOG_FORMAT": "xml"}))
	if err == nil || !strings.Contains(err.Error(), "PORT") || !strings.Contains(err.Error(), "LOG_FORMAT") {
		t.Fatalf("error = %v, want both PORT and LOG_FORMAT", err)
	}
}

func TestSecretFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	want := strings.Repeat("f", 40)
	if err := os.WriteFile(path, []byte(want+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(map[string]string{"JWT_SECRET_FILE": path}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.JWTSecret != want {
		t.Errorf("JWTSecret = %q, want the file's content without the newline", c.JWTSecret)
	}
}

// TestRatesAreTyped: RATE_LIMIT_* are parsed once into limits and periods,
// and the redacted configuration writes them back in their own format.
func TestRatesAreTyped(t *testing.T) {
	env := map[string]string{"RATE_LIMIT_LOGIN": "5-s", "RATE_LIMIT_BUDGET_REQUEST": "2-D", "RATE_LIMIT_ADMIN": "7-h"}
	c, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Rate{"login": {5, time.Second}, "budget": {2, 24 * time.Hour}, "admin": {7, time.Hour}, "health": {60, time.Minute}}
	got := map[string]Rate{"login": c.RateLimits.Login, "budget": c.RateLimits.BudgetRequest, "admin": c.RateLimits.Admin, "health": c.RateLimits.Health}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rates (-want +got):\n%s", diff)
	}
	b, err := json.Marshal(c.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"RATE_LIMIT_ADMIN":"7-H"`, `"RATE_LIMIT_LOGIN":"5-S"`, `"RATE_LIMIT_BUDGET_REQUEST":"2-D"`, `"RATE_LIMIT_HEALTH":"60-M"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("redacted configuration %s lacks %s", b, want)
		}
	}
}

// TestHostDefault: embedded mode with the demo users (public passwords)
// listens on 127.0.0.1 unless HOST is set; any other mode on every interface.
func TestHostDefault(t *testing.T) {
	pg := "postgres://u:p@db:5432/cp"
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"embedded with demo users", nil, "127.0.0.1"},
		{"embedded, demo users explicit", map[string]string{"SEED_DEMO_USERS": "true"}, "127.0.0.1"},
		{"embedded, HOST explicit", map[string]string{"HOST": "0.0.0.0"}, "0.0.0.0"},
		{"embedded, HOST another address", map[string]string{"HOST": "10.1.2.3"}, "10.1.2.3"},
		{"embedded without demo users", map[string]string{"SEED_DEMO_USERS": "false"}, "0.0.0.0"},
		{"production", map[string]string{"DATABASE_URL": pg, "JWT_SECRET": strings.Repeat("s", 32)}, "0.0.0.0"},
		{"production with demo users", map[string]string{"DATABASE_URL": pg, "JWT_SECRET": strings.Repeat("s", 32), "SEED_DEMO_USERS": "true"}, "0.0.0.0"},
	} {
		c, err := Load(env(tc.vars))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.Host != tc.want || c.Addr() != tc.want+":8000" {
			t.Errorf("%s: Host %q, Addr %q; want %q", tc.name, c.Host, c.Addr(), tc.want)
		}
	}
}
