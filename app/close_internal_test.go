package app

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/golden-architecture/control-plane/config"
)

// TestCloseClosesTheLimiterClient: the rate limiter's own Redis client
// (RATE_LIMIT_STORAGE_URI) is closed by Close, with the other stores, and
// not left to a background worker.
func TestCloseClosesTheLimiterClient(t *testing.T) {
	env := map[string]string{
		"DATA_DIR": t.TempDir(), "BCRYPT_COST": "4", "SEED_DEMO_USERS": "false",
		// Nothing listens there: the client is built, never connected.
		"RATE_LIMIT_STORAGE_URI": "redis://127.0.0.1:1/0",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), BuildInfo{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if a.limiterRedis == nil {
		a.Close()
		t.Fatal("no limiter client although RATE_LIMIT_STORAGE_URI is set")
	}
	a.Close()
	if err := a.limiterRedis.Ping(context.Background()).Err(); !errors.Is(err, redis.ErrClosed) {
		t.Errorf("limiter client after Close: ping = %v, want %v", err, redis.ErrClosed)
	}
}
