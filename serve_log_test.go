package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/internal/testenv"
)

// logLine is one JSON line of the server's log.
type logLine map[string]any

func (l logLine) msg() string   { s, _ := l["msg"].(string); return s }
func (l logLine) level() string { s, _ := l["level"].(string); return s }

// serveLogged runs the server as main does (serve, with its real logger)
// on vars, calls during once it is ready, stops it as a signal would and
// returns every line it logged.
func serveLogged(t *testing.T, vars map[string]string, during func(base string)) []logLine {
	t.Helper()
	vars = maps.Clone(vars)
	if _, given := vars["HOST"]; !given { // "" leaves HOST unset
		vars["HOST"] = "127.0.0.1"
	}
	vars["PORT"] = fmt.Sprint(testenv.FreePort(t))
	base := "http://127.0.0.1:" + vars["PORT"]
	logs := &testenv.SyncBuffer{}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, func(k string) string { return vars[k] }, logs) }()
	testenv.Wait(t, 60*time.Second, "the server is ready", func() bool {
		resp, err := http.Get(base + "/health/ready")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	during(base)
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not return after its context ended\n%s", logs.String())
	}
	var lines []logLine
	for raw := range bytes.Lines([]byte(logs.String())) {
		var l logLine
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatalf("log line %q is not JSON: %v", raw, err)
		}
		lines = append(lines, l)
	}
	return lines
}

func linesWith(lines []logLine, msg string) []logLine {
	var out []logLine
	for _, l := range lines {
		if l.msg() == msg {
			out = append(out, l)
		}
	}
	return out
}

// durationKey is a key that names a duration without saying its unit.
var durationKey = regexp.MustCompile(`(^|_)(duration|timeout|delay|interval|ttl|backoff|elapsed|in|after|age|took)$`)

// TestServeLog reads the JSON log of a started and stopped server (embedded,
// or on the TEST_* services when they are set): the start line's config is
// keyed by variable names, every duration is in milliseconds under a key
// ending in _ms, and probe and scrape requests are logged at debug while
// the others are logged at info.
func TestServeLog(t *testing.T) {
	env := testenv.New(t, "LOG_LEVEL", "debug", "LOG_FORMAT", "json",
		"SHUTDOWN_TIMEOUT", "3s", "SHUTDOWN_DRAIN_DELAY", "20ms", "RATE_LIMIT_LOGIN", "7-M")
	lines := serveLogged(t, env.Vars, func(base string) {
		for _, path := range []string{"/health", "/health/live", "/health/ready", "/metrics", "/api/v1/auth/me"} {
			resp, err := http.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
		}
	})

	t.Run("start line", func(t *testing.T) {
		start := linesWith(lines, "starting")
		if len(start) != 1 {
			t.Fatalf("%d starting lines, want 1", len(start))
		}
		cfg, _ := start[0]["config"].(map[string]any)
		envName := regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
		for k := range cfg {
			if !envName.MatchString(k) {
				t.Errorf("config key %q is not an environment variable's name", k)
			}
		}
		for k, want := range map[string]any{"RATE_LIMIT_LOGIN": "7-M", "SHUTDOWN_TIMEOUT": "3s", "LOG_LEVEL": "debug"} {
			if cfg[k] != want {
				t.Errorf("config[%s] = %v, want %v", k, cfg[k], want)
			}
		}
		if env.Vars["JWT_SECRET"] != "" && cfg["JWT_SECRET"] != config.Masked {
			t.Errorf("config[JWT_SECRET] = %v, want it masked", cfg["JWT_SECRET"])
		}
		wantMode := "embedded"
		if env.Vars["DATABASE_URL"] != "" {
			wantMode = "production"
		}
		if start[0]["mode"] != wantMode {
			t.Errorf("mode = %v, want %s", start[0]["mode"], wantMode)
		}
	})

	t.Run("durations in milliseconds", func(t *testing.T) {
		for _, l := range lines {
			for k := range l {
				if k != "config" && durationKey.MatchString(k) {
					t.Errorf("%q: key %q is a duration without its unit; want %s_ms in milliseconds", l.msg(), k, k)
				}
			}
		}
		wantMS := func(msg, key string, check func(ms float64) bool) {
			t.Helper()
			found := linesWith(lines, msg)
			if len(found) == 0 {
				t.Errorf("no %q line", msg)
			}
			for _, l := range found {
				ms, ok := l[key].(float64)
				if !ok || !check(ms) {
					t.Errorf("%q: %s = %v", msg, key, l[key])
				}
			}
		}
		// A fresh database: every migration is applied at this start.
		wantMS("migration applied", "duration_ms", func(ms float64) bool { return ms >= 0 && ms < 60_000 })
		wantMS("shutting down", "timeout_ms", func(ms float64) bool { return ms == 3000 })
		wantMS("draining: /health/ready answers 503, still serving", "delay_ms", func(ms float64) bool { return ms == 20 })
	})

	t.Run("probes at debug", func(t *testing.T) {
		levels := map[string]string{}
		for _, l := range linesWith(lines, "request") {
			route, _ := l["route"].(string)
			levels[route] = l.level()
		}
		want := map[string]string{"/health": "DEBUG", "/health/live": "DEBUG", "/health/ready": "DEBUG", "/metrics": "DEBUG", "/api/v1/auth/me": "INFO"}
		for route, level := range want {
			if levels[route] != level {
				t.Errorf("request to %s logged at %q, want %s", route, levels[route], level)
			}
		}
	})

	t.Run("no local state warning", func(t *testing.T) {
		for _, l := range lines {
			if strings.HasPrefix(l.msg(), "production without") {
				t.Errorf("warned %q; embedded mode is one process, production here has Redis when it has a database (TEST_REDIS_URL)", l.msg())
			}
		}
	})
}

// TestServeWarnsOfLocalState: a production start without Redis says at warn
// level that rate limits, lockouts and revocations stay in the process.
// Production needs PostgreSQL (TEST_DATABASE_URL); app's TestWarnLocalState
// holds the rule itself without it.
func TestServeWarnsOfLocalState(t *testing.T) {
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("TEST_DATABASE_URL is not set: production mode needs PostgreSQL")
	}
	env := testenv.New(t, "LOG_LEVEL", "info", "LOG_FORMAT", "json", "REDIS_URL", "", "RATE_LIMIT_STORAGE_URI", "")
	lines := serveLogged(t, env.Vars, func(string) {})
	var warned []string
	for _, l := range lines {
		if strings.HasPrefix(l.msg(), "production without") {
			if l.level() != "WARN" {
				t.Errorf("%q logged at %s, want WARN", l.msg(), l.level())
			}
			warned = append(warned, l.msg())
		}
	}
	joined := strings.Join(warned, "\n")
	for _, want := range []string{"login lockouts, token revocations and breaker resets", "rate limits are counted in this process"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings %q do not say %q", warned, want)
		}
	}
}

// TestDurationsInMS: the logger writes any duration attribute as milliseconds
// under a key ending in _ms, in both formats.
func TestDurationsInMS(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log := newLogger(cfgWith(t, "LOG_FORMAT", format), &buf)
			log.Info("x", slog.Duration("timeout", 1500*time.Millisecond), "in", 250*time.Microsecond,
				slog.Duration("delay_ms", 2*time.Second), slog.Group("g", slog.Duration("took", time.Minute)), slog.Int("count", 3))
			out := buf.String()
			want := []string{`"timeout_ms":1500`, `"in_ms":0.25`, `"delay_ms":2000`, `"took_ms":60000`, `"count":3`}
			if format == "text" {
				want = []string{"timeout_ms=1500 ", "in_ms=0.25 ", "delay_ms=2000 ", "g.took_ms=60000 ", "count=3"}
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("log %q lacks %s", out, w)
				}
			}
		})
	}
}

func cfgWith(t *testing.T, kv ...string) config.Config {
	t.Helper()
	vars := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		vars[kv[i]] = kv[i+1]
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestServeLoopbackWithDemoUsers: embedded mode with the demo users listens
// on 127.0.0.1 when HOST is unset and says how to expose it; an explicit HOST
// is used as given, without that warning.
func TestServeLoopbackWithDemoUsers(t *testing.T) {
	const hint = "listening on 127.0.0.1 only: embedded mode with the demo users, whose passwords are public; set HOST=0.0.0.0 to expose it (and SEED_DEMO_USERS=false with ADMIN_USERNAME/ADMIN_PASSWORD for real use)"
	for _, tc := range []struct {
		host     string
		wantHint int
	}{{"", 1}, {"127.0.0.1", 0}} {
		lines := serveLogged(t, map[string]string{"DATA_DIR": t.TempDir(), "BCRYPT_COST": "4", "HOST": tc.host}, func(string) {})
		serving := linesWith(lines, "serving")
		if len(serving) != 1 {
			t.Fatalf("HOST=%q: %d serving lines", tc.host, len(serving))
		}
		if addr, _ := serving[0]["addr"].(string); !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Errorf("HOST=%q: serving on %q, want 127.0.0.1", tc.host, addr)
		}
		got := linesWith(lines, hint)
		if len(got) != tc.wantHint {
			t.Errorf("HOST=%q: %d loopback warnings, want %d", tc.host, len(got), tc.wantHint)
		}
		for _, l := range got {
			if l.level() != "WARN" {
				t.Errorf("HOST=%q: loopback hint at %s, want WARN", tc.host, l.level())
			}
		}
	}
}
