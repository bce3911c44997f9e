package middleware_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/middleware"
)

// TestAccessLogLevels: probe routes are logged at debug, unless they answer
// 500; other routes at info, 5xx at error; nothing below the logger's level
// is written.
func TestAccessLogLevels(t *testing.T) {
	gin.SetMode(gin.TestMode)
	answer := func(status int) gin.HandlerFunc { return func(c *gin.Context) { c.Status(status) } }
	tests := []struct {
		path      string
		status    int
		wantLevel string
	}{
		{"/health", http.StatusOK, "DEBUG"},
		{"/health", http.StatusServiceUnavailable, "DEBUG"},
		{"/health", http.StatusTooManyRequests, "DEBUG"},
		{"/health", http.StatusInternalServerError, "ERROR"},
		{"/metrics", http.StatusOK, "DEBUG"},
		{"/metrics", http.StatusUnauthorized, "DEBUG"},
		{"/work", http.StatusOK, "INFO"},
		{"/work", http.StatusNotFound, "INFO"},
		{"/work", http.StatusServiceUnavailable, "ERROR"},
		{"/health/extra", http.StatusNotFound, "INFO"}, // not a route: no probe
	}
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		for _, tt := range tests {
			t.Run(level.String()+" "+tt.path+" "+http.StatusText(tt.status), func(t *testing.T) {
				logs := &testenv.SyncBuffer{}
				r := gin.New()
				r.Use(middleware.AccessLog(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level})), "/health", "/metrics"))
				if tt.path != "/health/extra" {
					r.GET(tt.path, answer(tt.status))
				}
				r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, tt.path, nil))

				lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
				wantWritten := tt.wantLevel != "DEBUG" || level == slog.LevelDebug
				if !wantWritten {
					if logs.String() != "" {
						t.Fatalf("logged %q below the logger's level", logs.String())
					}
					return
				}
				if len(lines) != 1 {
					t.Fatalf("log = %q, want one line", logs.String())
				}
				var line struct {
					Level, Msg string
					Status     int
				}
				if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
					t.Fatal(err)
				}
				if line.Level != tt.wantLevel || line.Msg != "request" || line.Status != tt.status {
					t.Errorf("log = %s, want a %s request line with status %d", lines[0], tt.wantLevel, tt.status)
				}
			})
		}
	}
}
