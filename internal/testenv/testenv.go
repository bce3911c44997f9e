// Package testenv starts the real service for tests: the full app and router
// over httptest, on SQLite, in-memory stores and an embedded NATS server by
// default, or on the PostgreSQL, Redis and NATS named by TEST_DATABASE_URL,
// TEST_REDIS_URL and TEST_NATS_URL. Each Env gets stores of its own (a fresh
// PostgreSQL database, a Redis key prefix, a NATS stream and subject prefix),
// so test packages never see each other's data.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/golden-architecture/control-plane/app"
	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/internal/dbtest"
)

// Env is one isolated set of stores that one or more servers share.
type Env struct {
	// Vars are the environment variables every server of this Env starts with.
	Vars map[string]string
	// DatabaseURL is the PostgreSQL database of this Env ("" on SQLite).
	DatabaseURL string
	// ID is unique per Env; it names the Redis prefix and NATS stream.
	ID string
}

// External reports which real services the tests were pointed at.
func External() (db, redis, nats bool) {
	return os.Getenv("TEST_DATABASE_URL") != "", os.Getenv("TEST_REDIS_URL") != "", os.Getenv("TEST_NATS_URL") != ""
}

// New prepares isolated stores. Extra key/value pairs override variables.
func New(t testing.TB, kv ...string) *Env {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	id := randomID()
	dir := t.TempDir()
	e := &Env{ID: id, Vars: map[string]string{
		"DATA_DIR":                    dir,
		"SQLITE_PATH":                 filepath.Join(dir, "shared.db"),
		"LOG_LEVEL":                   "error",
		"BCRYPT_COST":                 "4",
		"SEED_DEMO_USERS":             "true",
		"SHUTDOWN_TIMEOUT":            "5s",
		"REDIS_KEY_PREFIX":            "test:" + id + ":",
		"RATE_LIMIT_PREFIX":           "test:" + id + ":rl",
		"DLQ_STREAM":                  "DLQ_" + id,
		"DLQ_SUBJECT_PREFIX":          "dlq" + id,
		"DLQ_CONSUMER":                "dlq_" + id,
		"RATE_LIMIT_ADMIN":            "100000-M",
		"RATE_LIMIT_OPERATOR":         "100000-M",
		"RATE_LIMIT_DEVELOPER":        "100000-M",
		"RATE_LIMIT_OBSERVER":         "100000-M",
		"RATE_LIMIT_ANONYMOUS":        "100000-M",
		"RATE_LIMIT_LOGIN":            "100000-M",
		"RATE_LIMIT_BUDGET_REQUEST":   "100000-M",
		"RATE_LIMIT_BREAKER_RESET":    "100000-M",
		"RATE_LIMIT_HEALTH":           "100000-M",
		"BREAKER_OPEN_TIMEOUT":        "1s",
		"BREAKER_HALF_OPEN_MAX_CALLS": "1",
	}}
	if base := os.Getenv("TEST_DATABASE_URL"); base != "" {
		e.DatabaseURL = dbtest.CreateDatabase(t, base, "t_"+id)
		e.Vars["DATABASE_URL"] = e.DatabaseURL
		e.Vars["JWT_SECRET"] = "test-secret-test-secret-test-secret-0123456789"
	}
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		e.Vars["REDIS_URL"] = u
	}
	if u := os.Getenv("TEST_NATS_URL"); u != "" {
		e.Vars["NATS_URL"] = u
		// Registered before any server of the Env starts, so it runs after
		// they have all stopped.
		t.Cleanup(func() { DeleteStream(t, u, e.Vars["DLQ_STREAM"]) })
	}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Vars[kv[i]] = kv[i+1]
	}
	return e
}

// Config loads the configuration of a server of this Env with overrides.
func (e *Env) Config(t testing.TB, kv ...string) config.Config {
	t.Helper()
	vars := maps.Clone(e.Vars)
	// Each server gets its own DATA_DIR (embedded NATS store, keys) while
	// sharing the database.
	vars["DATA_DIR"] = t.TempDir()
	if _, ok := e.Vars["JWT_KEYS_DIR"]; !ok && e.Vars["JWT_SECRET"] == "" {
		vars["JWT_KEYS_DIR"] = filepath.Join(e.Vars["DATA_DIR"], "keys")
	}
	for i := 0; i+1 < len(kv); i += 2 {
		vars[kv[i]] = kv[i+1]
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// Server is one running instance of the service.
type Server struct {
	*Client
	App    *app.App
	Config config.Config
	HTTP   *httptest.Server
}

// Start runs a server of this Env in-process; it stops at test cleanup.
func (e *Env) Start(t testing.TB, kv ...string) *Server {
	t.Helper()
	cfg := e.Config(t, kv...)
	return StartConfig(t, cfg)
}

// StartConfig runs a server with exactly cfg.
func StartConfig(t testing.TB, cfg config.Config) *Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	a, err := app.New(ctx, cfg, log, app.BuildInfo{Version: "test", Commit: "test"})
	if err != nil {
		cancel()
		t.Fatalf("start app: %v", err)
	}
	a.Start(ctx)
	hs := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		hs.Close()
		cancel()
		a.Close()
	})
	return &Server{Client: NewClient(hs.URL), App: a, Config: cfg, HTTP: hs}
}

// Quick starts a server on a fresh Env: the usual one-liner of a test.
func Quick(t testing.TB, kv ...string) *Server {
	t.Helper()
	return New(t).Start(t, kv...)
}

func randomID() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Wait polls cond until it holds or timeout passes.
func Wait(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// DeleteStream removes a test's stream from an external NATS, so test runs
// do not pile streams up on a shared server.
func DeleteStream(t testing.TB, url, stream string) {
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second))
	if err != nil {
		t.Logf("delete stream %s: %v", stream, err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Logf("delete stream %s: %v", stream, err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := js.DeleteStream(ctx, stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Logf("delete stream %s: %v", stream, err)
	}
}
