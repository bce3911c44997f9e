package app

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/golden-architecture/control-plane/config"
)

// TestWarnLocalState: a production start warns, once per kind, about the
// shared state it keeps in process memory; embedded mode never does.
func TestWarnLocalState(t *testing.T) {
	const (
		production = "postgres://u@db:5432/app"
		redisURL   = "redis://redis:6379/0"
		lockouts   = "REDIS_URL: login lockouts"
		limits     = "RATE_LIMIT_STORAGE_URI: rate limits"
	)
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"embedded", nil, nil},
		{"embedded with redis", map[string]string{"REDIS_URL": redisURL}, nil},
		{"production without redis", map[string]string{"DATABASE_URL": production}, []string{lockouts, limits}},
		{"production with redis", map[string]string{"DATABASE_URL": production, "REDIS_URL": redisURL}, nil},
		{"production, a limiter redis only", map[string]string{"DATABASE_URL": production, "RATE_LIMIT_STORAGE_URI": redisURL}, []string{lockouts}},
		{"production, no redis, no limits", map[string]string{"DATABASE_URL": production, "RATE_LIMITS_ENABLED": "false"}, []string{lockouts}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"JWT_SECRET": strings.Repeat("s", 32)}
			for k, v := range tt.env {
				env[k] = v
			}
			cfg, err := config.Load(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			rec := &warnings{}
			(&App{cfg: cfg, log: slog.New(rec)}).warnLocalState()
			var got []string
			for _, msg := range rec.all() {
				switch {
				case strings.Contains(msg, "without REDIS_URL:") && strings.Contains(msg, "login lockouts, token revocations and breaker resets"):
					got = append(got, lockouts)
				case strings.Contains(msg, "RATE_LIMIT_STORAGE_URI:") && strings.Contains(msg, "rate limits are counted in this process"):
					got = append(got, limits)
				default:
					t.Errorf("unexpected warning %q", msg)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("warnings = %q, want %q", got, tt.want)
			}
		})
	}
}

// warnings records the messages logged at warn level or above.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (h *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *warnings) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, r.Message)
	return nil
}
func (h *warnings) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *warnings) WithGroup(string) slog.Handler      { return h }
func (h *warnings) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.msgs)
}
