package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/golden-architecture/control-plane/app"
	"github.com/golden-architecture/control-plane/config"
)

func serve(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	logs := newLogBuffer(stderr)
	defer func() { _ = logs.Close() }() // after every deferred step that logs
	log := newLogger(cfg, logs)
	gin.SetMode(gin.ReleaseMode)
	// go-redis logs every failed dial itself; during an outage that would be
	// one unstructured line per attempt. The breaker and /health report it.
	redis.SetLogger(redisLog{log})
	version, commit := buildVersion()
	log.Info("starting", slog.String("version", version), slog.String("commit", commit),
		slog.String("mode", cfg.Mode()), slog.Any("config", cfg.Redacted()))
	a, err := app.New(ctx, cfg, log, app.BuildInfo{Version: version, Commit: commit})
	if err != nil {
		return err
	}
	defer a.Close()
	workers, cancelWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWorkers()
	a.Start(workers)
	servePprof(workers, cfg.PprofAddr, log)

	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr(), err)
	}
	base := "http://" + displayHost(cfg.Host, ln.Addr())
	log.Info("serving", slog.String("addr", ln.Addr().String()),
		slog.String("console", base+"/console"), slog.String("docs", base+"/docs"), slog.String("health", base+"/health"))
	if cfg.LoopbackOnly() && getenv("HOST") == "" {
		log.Warn("listening on 127.0.0.1 only: embedded mode with the demo users, whose passwords are public; set HOST=0.0.0.0 to expose it (and SEED_DEMO_USERS=false with ADMIN_USERNAME/ADMIN_PASSWORD for real use)",
			slog.String("addr", ln.Addr().String()))
	}
	err = a.Serve(ctx, ln)
	cancelWorkers()
	log.Info("stopped")
	return err
}

func displayHost(host string, addr net.Addr) string {
	_, port, _ := net.SplitHostPort(addr.String())
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// redisLog sends go-redis's internal messages to the debug level.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...), slog.String("component", "go-redis"))
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: durationsInMS}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// durationsInMS writes a duration attribute as milliseconds under a key
// ending in _ms ("timeout": 15s becomes "timeout_ms": 15000), the unit and
// key of every duration the service logs itself, so that one logged as a
// time.Duration cannot bring nanoseconds back.
func durationsInMS(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindDuration {
		return a
	}
	key := a.Key
	if !strings.HasSuffix(key, "_ms") {
		key += "_ms"
	}
	return slog.Float64(key, float64(a.Value.Duration().Microseconds())/1000)
}

// healthcheck is the container HEALTHCHECK: distroless images have no curl.
func healthcheck(ctx context.Context, getenv func(string) string) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort("127.0.0.1", fmt.Sprint(cfg.Port)) + "/health/live"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	return nil
}
