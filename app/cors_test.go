package app_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/golden-architecture/control-plane/app"
	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/internal/testenv"
)

// TestCORSStarRefusesToStart: CORS_ALLOW_ORIGINS="*" (credentials are always
// allowed) stops the service at start with a message naming the variable,
// whether it comes through the environment or a hand-built Config.
func TestCORSStarRefusesToStart(t *testing.T) {
	for _, origins := range []string{"*", " https://app.example.com , * "} {
		t.Run("config "+origins, func(t *testing.T) {
			env := map[string]string{"CORS_ALLOW_ORIGINS": origins}
			_, err := config.Load(func(k string) string { return env[k] })
			if err == nil || !strings.Contains(err.Error(), "CORS_ALLOW_ORIGINS") || !strings.Contains(err.Error(), "credentials") {
				t.Errorf("config.Load error = %v, want one naming CORS_ALLOW_ORIGINS and credentials", err)
			}
		})
	}
	t.Run("app.New", func(t *testing.T) {
		cfg := testenv.New(t).Config(t)
		cfg.CORSAllowOrigins = []string{"https://app.example.com", "*"}
		a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.BuildInfo{Version: "test"})
		if err == nil {
			a.Close()
			t.Fatal("app.New accepted CORS origin \"*\"")
		}
		if !strings.Contains(err.Error(), "CORS_ALLOW_ORIGINS") || !strings.Contains(err.Error(), "credentials") {
			t.Errorf("app.New error = %v, want one naming CORS_ALLOW_ORIGINS and credentials", err)
		}
	})
}
