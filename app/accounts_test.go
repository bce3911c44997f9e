package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/golden-architecture/control-plane/app"
	"github.com/golden-architecture/control-plane/internal/testenv"
)

// syncBuffer is a log sink that the app's goroutines may write concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestWarnsWhenNobodyCanLogIn: a start without demo users, without
// ADMIN_USERNAME and with no account at all warns that nobody can log in;
// with a bootstrap admin it does not.
func TestWarnsWhenNobodyCanLogIn(t *testing.T) {
	const warning = "nobody can log in"
	for _, tc := range []struct {
		name string
		kv   []string
		want bool
	}{
		{"no account, no admin", []string{"SEED_DEMO_USERS", "false"}, true},
		{"a bootstrap admin", []string{"SEED_DEMO_USERS", "false", "ADMIN_USERNAME", "root", "ADMIN_PASSWORD", "a-long-admin-password"}, false},
		{"demo users", []string{"SEED_DEMO_USERS", "true"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testenv.New(t).Config(t, tc.kv...)
			var logs syncBuffer
			a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)), app.BuildInfo{Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			a.Close()
			if got := strings.Contains(logs.String(), warning); got != tc.want {
				t.Errorf("log warns %q: %v, want %v; log:\n%s", warning, got, tc.want, logs.String())
			}
		})
	}
}
