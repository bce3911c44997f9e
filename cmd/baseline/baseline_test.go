package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestLoopbackOnly(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:18081", true},
		{"[::1]:18081", true},
		{"localhost:0", true},
		{"0.0.0.0:18081", false},
		{":18081", false},
		{"10.0.0.5:80", false},
		{"example.com:80", false},
		{"127.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if err := loopbackOnly(tt.addr); (err == nil) != tt.ok {
				t.Errorf("loopbackOnly(%q) = %v, want ok=%v", tt.addr, err, tt.ok)
			}
		})
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	tests := map[string][]string{
		"unknown mode": {"-mode", "grpc", "-addr", "127.0.0.1:0"},
		"public addr":  {"-mode", "json", "-addr", "0.0.0.0:0"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			if err := run(context.Background(), args, io.Discard); err == nil {
				t.Errorf("run(%v) = nil, want an error", args)
			}
		})
	}
}

// getMe asserts the answer has /auth/me's shape.
func getMe(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url + "/api/v1/auth/me")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body meBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || body.Username != "admin" || len(body.Permissions) != 20 || body.ExpiresAt.Before(time.Now()) {
		t.Errorf("GET /api/v1/auth/me = %d %+v, want 200 with the admin's 20 permissions", resp.StatusCode, body)
	}
}

func TestJSONMode(t *testing.T) {
	srv := httptest.NewServer(newEngine(nil, ""))
	defer srv.Close()
	getMe(t, srv.URL)
}

// TestRedisMode needs a Redis (TEST_REDIS_URL); it uses a key of its own.
func TestRedisMode(t *testing.T) {
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		t.Skip("TEST_REDIS_URL not set")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx := context.Background()
	key := fmt.Sprintf("baseline-test:%d", time.Now().UnixNano())
	defer rdb.Del(ctx, key)
	srv := httptest.NewServer(newEngine(rdb, key))
	defer srv.Close()
	for range 3 {
		getMe(t, srv.URL)
	}
	if got, err := rdb.Get(ctx, key).Int(); err != nil || got != 3 {
		t.Errorf("counter = %d (%v), want 3: one INCR per request", got, err)
	}
}
