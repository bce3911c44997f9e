package app_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golden-architecture/control-plane/app"
	"github.com/golden-architecture/control-plane/internal/testenv"
)

func TestHealthReportsEachComponent(t *testing.T) {
	srv := testenv.Quick(t)
	r := srv.Get(t, "/health", "")
	r.WantStatus(t, http.StatusOK)
	var body struct {
		Status     string
		Version    string
		Components map[string]struct {
			Status    string  `json:"status"`
			Mode      string  `json:"mode"`
			LatencyMS float64 `json:"latency_ms"`
		}
	}
	r.JSON(t, &body)
	if body.Status != "ok" || body.Version != "test" {
		t.Errorf("status, version = %q, %q; want ok, test", body.Status, body.Version)
	}
	for _, name := range []string{"database", "redis", "nats"} {
		c, ok := body.Components[name]
		if !ok || c.Status != "up" || c.Mode == "" {
			t.Errorf("component %s = %+v, want up with a mode", name, c)
		}
	}
	srv.Get(t, "/health/live", "").WantStatus(t, http.StatusOK)
	srv.Get(t, "/health/ready", "").WantStatus(t, http.StatusOK)
	root := srv.Get(t, "/", "").WantStatus(t, http.StatusOK).Map(t)
	if root["name"] != app.Name || root["links"] == nil {
		t.Errorf("GET / = %v, want name and links", root)
	}
}

func TestHealthWithRedisDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there now

	srv := testenv.Quick(t, "REDIS_URL", "redis://"+closed+"/0", "RATE_LIMIT_STORAGE_URI", "redis://"+closed+"/0")
	r := srv.Get(t, "/health", "")
	r.WantStatus(t, http.StatusServiceUnavailable)
	var body struct {
		Status     string
		Components map[string]struct{ Status, Mode, Error string }
	}
	r.JSON(t, &body)
	if body.Status != "unavailable" {
		t.Errorf("status = %q, want unavailable", body.Status)
	}
	if c := body.Components["redis"]; c.Status != "down" || c.Mode != "external" || c.Error == "" {
		t.Errorf("redis = %+v, want down, external, with an error", c)
	}
	if c := body.Components["database"]; c.Status != "up" {
		t.Errorf("database = %+v, want up", c)
	}
	// Liveness never depends on another component.
	srv.Get(t, "/health/live", "").WantStatus(t, http.StatusOK)
}

func TestReadyIsFalseWhileMigrationsPending(t *testing.T) {
	env := testenv.New(t)
	srv := env.Start(t, "MIGRATE_ON_START", "false")
	r := srv.Get(t, "/health/ready", "")
	r.WantStatus(t, http.StatusServiceUnavailable)
	if got := r.Map(t)["checks"].(map[string]any)["migrations"]; !strings.Contains(fmt.Sprint(got), "pending") {
		t.Errorf("checks.migrations = %v, want pending", got)
	}
	// A second server applies them; the first becomes ready without a restart.
	env.Start(t)
	srv.Get(t, "/health/ready", "").WantStatus(t, http.StatusOK)
}

// TestGracefulShutdown sends a request whose body arrives slowly, starts the
// shutdown while it is in flight, and checks that it is answered in full while
// new connections are refused.
func TestGracefulShutdown(t *testing.T) {
	cfg := testenv.New(t).Config(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.BuildInfo{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	serveCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- a.Serve(serveCtx, ln) }()

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"username":"admin","password":"admin123"}`
	head := fmt.Sprintf("POST /api/v1/auth/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, len(body))
	if _, err := io.WriteString(conn, head+body[:10]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the handler is now reading the body
	stop()
	testenv.Wait(t, 5*time.Second, "the listener to close", func() bool {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v while a request was in flight", err)
	default:
	}
	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request got no answer: %v", err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(got), `"token"`) {
		t.Errorf("in-flight login = %d %s, want 200 with a token", resp.StatusCode, got)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v, want nil after a graceful shutdown", err)
	}
}
