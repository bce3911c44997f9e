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

// TestDrainBeforeShutdown checks SHUTDOWN_DRAIN_DELAY: once the shutdown
// begins, readiness answers 503 while new connections are still served, and
// the listener closes only after the delay.
func TestDrainBeforeShutdown(t *testing.T) {
	cfg := testenv.New(t).Config(t)
	cfg.ShutdownDrainDelay = 3 * time.Second
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
	base := "http://" + ln.Addr().String()
	serveCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- a.Serve(serveCtx, ln) }()

	// fresh opens a new connection per request (a draining server must still
	// accept them); kept reuses one, as a load balancer or SDK would.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	kept := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	get := func(client *http.Client, path string) (int, string, bool) {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.Close
	}
	if code, body, _ := get(fresh, "/health/ready"); code != http.StatusOK {
		t.Fatalf("ready before the shutdown = %d %s, want 200", code, body)
	}
	if _, _, closing := get(kept, "/health/live"); closing {
		t.Fatal("the server closes kept-alive connections before any shutdown")
	}
	stopped := time.Now()
	stop()
	testenv.Wait(t, 2*time.Second, "readiness to fail", func() bool {
		code, _, _ := get(fresh, "/health/ready")
		return code == http.StatusServiceUnavailable
	})
	code, body, _ := get(fresh, "/health/ready")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"shutdown":"draining"`) {
		t.Errorf("ready while draining = %d %s, want 503 with checks.shutdown draining", code, body)
	}
	if code, body, _ := get(fresh, "/api/v1/auth/me"); code != http.StatusUnauthorized || !strings.Contains(body, "auth.unauthorized") {
		t.Errorf("API on a new connection while draining = %d %s, want it served (401 without a token)", code, body)
	}
	if code, _, closing := get(kept, "/health/live"); code != http.StatusOK || !closing {
		t.Errorf("kept-alive request while draining = %d, Connection: close %v; want 200 and close, so the client reconnects elsewhere", code, closing)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v during the drain", err)
	default:
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v, want nil after the drain and a graceful shutdown", err)
	}
	if took := time.Since(stopped); took < cfg.ShutdownDrainDelay {
		t.Errorf("Serve returned %v after the shutdown began, before the %v drain", took, cfg.ShutdownDrainDelay)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("the listener still accepts after Serve returned")
	}
}
