// Package app builds the whole service from a Config: it opens the stores,
// applies migrations, builds the services and the router, runs the background
// workers and shuts everything down in order. main and the tests use it the
// same way, so tests exercise the real wiring.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/migrations"
	"github.com/golden-architecture/control-plane/platform/database"
	"github.com/golden-architecture/control-plane/platform/natsbus"
	"github.com/golden-architecture/control-plane/platform/redisconn"
	"github.com/golden-architecture/control-plane/platform/tracing"
	"github.com/golden-architecture/control-plane/services/breaker"
	"github.com/golden-architecture/control-plane/services/gateway"
	"github.com/golden-architecture/control-plane/services/health"
	"github.com/golden-architecture/control-plane/services/ratelimit"
	"github.com/golden-architecture/control-plane/services/tenants"
)

// Name is the service name shown by GET / and the Swagger UI.
const Name = "golden-architecture-control-plane"

// BuildInfo identifies the binary; main sets it from -ldflags.
type BuildInfo struct {
	Version string
	Commit  string
}

// App is one running service instance.
type App struct {
	cfg   config.Config
	log   *slog.Logger
	build BuildInfo
	db    *database.DB
	redis *redis.Client
	// limiterRedis is the rate limiter's own client (RATE_LIMIT_STORAGE_URI),
	// with the limiter's short timeouts.
	limiterRedis *redis.Client
	// tokenLimits enforces API keys' tokens-per-minute limits on the LLM
	// gateway, on the rate limiter's store; nil when rate limits are off.
	tokenLimits *ratelimit.Tokens
	bus         *natsbus.Bus
	registry    *prometheus.Registry
	migrator    *migrations.Runner
	router      *gin.Engine
	// breakers guards the outbound dependencies; built first by wireBreakers.
	breakers *breaker.Registry
	// tenants decides the tenant of every tenant-scoped request; built by
	// wireTenants before the resources that use it.
	tenants *tenants.Service

	// workers run in the background from Start until the context ends.
	workers []func(ctx context.Context)
	wg      sync.WaitGroup

	// gateway is the LLM gateway, whose streams' bookkeeping runs after
	// their answers (Close waits for it).
	gateway *gateway.Service

	// tracing is the tracer provider of the gateway's spans: no-op unless
	// OTEL_EXPORTER_OTLP_ENDPOINT is set; Close flushes it.
	tracing *tracing.Provider

	migrated bool
	mu       sync.Mutex
	// draining turns readiness to 503 once a shutdown has begun.
	draining atomic.Bool
}

// New opens every store, applies or verifies migrations and builds the router.
// On error everything opened so far is closed.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, build BuildInfo) (_ *App, err error) {
	a := &App{cfg: cfg, log: log, build: build, registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if err := a.openStores(ctx); err != nil {
		return nil, err
	}
	if a.tracing, err = tracing.New(ctx, tracing.Options{
		Endpoint: cfg.OTELExporterOTLPEndpoint, ServiceName: cfg.OTELServiceName, Version: build.Version,
	}); err != nil {
		return nil, err
	}
	if a.tracing.Enabled {
		a.log.Info("tracing", slog.String("exporter", "otlp/http"), slog.String("endpoint", cfg.OTELExporterOTLPEndpoint))
	}
	a.warnLocalState()
	a.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(build),
	)
	deps, err := a.buildServices(ctx)
	if err != nil {
		return nil, err
	}
	router, err := handlers.NewRouter(deps)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	a.router = router
	return a, nil
}

// dbWarmEvery is how often the pool is topped up to DB_MIN_CONNS.
const dbWarmEvery = 30 * time.Second

// openStores opens the database (applying the migrations, or with
// MIGRATE_ON_START=false only verifying them), Redis when configured, and NATS.
func (a *App) openStores(ctx context.Context) error {
	db, runner, err := OpenDatabase(ctx, a.cfg, StartMode(a.cfg), a.log)
	if err != nil {
		return err
	}
	a.db, a.migrator = db, runner
	// DB_MIN_CONNS stay open: connections the server or the network closed
	// are replaced here rather than by the next requests.
	a.workers = append(a.workers, authPeriodic(dbWarmEvery, func() {
		warmCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := db.Warm(warmCtx); err != nil {
			a.log.Warn("could not reopen DB_MIN_CONNS database connections", slog.Any("error", err))
		}
	}))
	a.log.Info("database", slog.String("mode", mode(a.cfg.DatabaseURL)), slog.String("dialect", string(db.Dialect)), slog.String("location", db.Location))
	if a.cfg.MigrateOnStart {
		a.log.Info("migrations up to date")
	} else {
		pending, err := runner.Pending(ctx)
		if err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		a.log.Info("migrations not applied at start (MIGRATE_ON_START=false)", slog.Int("pending", pending))
	}

	if a.cfg.RedisURL != "" {
		client, err := redisconn.New(a.cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("REDIS_URL: %w", err)
		}
		a.redis = client
		pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := a.redis.Ping(pingCtx).Err(); err != nil {
			a.log.Warn("redis is not answering at start; continuing, /health reports it", slog.Any("error", err))
		}
		a.log.Info("redis", slog.String("mode", "external"), slog.String("addr", client.Options().Addr), slog.Int("db", client.Options().DB))
	} else {
		a.log.Info("redis", slog.String("mode", "embedded"), slog.String("store", "in-process memory (single instance)"))
	}

	bus, err := natsbus.Open(ctx, natsbus.Options{
		URL: a.cfg.NATSURL, DataDir: a.cfg.DataDir, EmbeddedPort: a.cfg.EmbeddedNATSPort, Name: Name + "/" + a.cfg.InstanceID,
	})
	if err != nil {
		return err
	}
	a.bus = bus
	a.log.Info("nats", slog.String("mode", mode(a.cfg.NATSURL)), slog.String("location", bus.Location))
	return nil
}

// OpenDatabase opens the database of cfg and applies or verifies its
// migrations as mode says (migrations.Open). The server and every subcommand
// open it this way.
func OpenDatabase(ctx context.Context, cfg config.Config, mode migrations.Mode, log *slog.Logger) (*database.DB, *migrations.Runner, error) {
	return migrations.Open(ctx, database.Options{
		URL: cfg.DatabaseURL, SQLitePath: cfg.SQLitePath, MinConns: cfg.DBMinConns, MaxConns: cfg.DBMaxConns,
	}, mode, migrations.WithLogger(log))
}

// StartMode is what a start does to the schema: apply pending migrations,
// or with MIGRATE_ON_START=false only verify the applied ones.
func StartMode(cfg config.Config) migrations.Mode {
	if cfg.MigrateOnStart {
		return migrations.Apply
	}
	return migrations.Verify
}

// Handler is the HTTP handler of the service.
func (a *App) Handler() http.Handler { return a.router }

// Registry is the Prometheus registry of this instance.
func (a *App) Registry() *prometheus.Registry { return a.registry }

// DB is the database handle (tests inspect stored state through it).
func (a *App) DB() *database.DB { return a.db }

// Bus is the NATS connection.
func (a *App) Bus() *natsbus.Bus { return a.bus }

// Breakers is the circuit breaker registry (tests trip and inspect it).
func (a *App) Breakers() *breaker.Registry { return a.breakers }

// Start runs the background workers until ctx ends.
func (a *App) Start(ctx context.Context) {
	for _, w := range a.workers {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			w(ctx)
		}()
	}
}

// Serve answers HTTP on ln until ctx ends. It then keeps serving for
// SHUTDOWN_DRAIN_DELAY with readiness at 503 and keep-alive off, stops
// accepting, lets in-flight requests finish within SHUTDOWN_TIMEOUT and returns.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.router,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	if d := a.cfg.ShutdownDrainDelay; d > 0 {
		// Load balancers and Kubernetes endpoints take a moment to stop
		// routing here; closing the listener before they do refuses their
		// connections. Keep serving, with readiness failing, until they have.
		a.draining.Store(true)
		srv.SetKeepAlivesEnabled(false) // clients with a connection here reconnect elsewhere
		a.log.Info("draining: /health/ready answers 503, still serving", slog.Int64("delay_ms", d.Milliseconds()))
		select {
		case <-time.After(d):
		case err := <-serveErr:
			return fmt.Errorf("serve: %w", err)
		}
	}
	a.log.Info("shutting down", slog.Int64("timeout_ms", a.cfg.ShutdownTimeout.Milliseconds()))
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Settled returns once the work that follows answers is done: the LLM
// gateway's commit of every stream that has ended. Close calls it; tests
// call it before reading what a stream stored.
func (a *App) Settled() {
	if a.gateway != nil {
		a.gateway.Wait()
	}
}

// Close waits for the background workers and the work that follows
// answers, then closes NATS, the Redis clients and the database, in that
// order.
func (a *App) Close() {
	a.wg.Wait()
	a.Settled()
	if a.tracing != nil {
		// Flush the spans not yet exported; a collector that does not
		// answer delays the stop by at most the timeout.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := a.tracing.Shutdown(ctx); err != nil {
			a.log.Warn("flushing traces", slog.Any("error", err))
		}
		cancel()
	}
	if a.bus != nil {
		a.bus.Close()
	}
	for _, c := range []*redis.Client{a.redis, a.limiterRedis} {
		if c == nil {
			continue
		}
		if err := c.Close(); err != nil {
			a.log.Warn("closing redis", slog.String("addr", c.Options().Addr), slog.Any("error", err))
		}
	}
	if a.db != nil {
		if err := a.db.Close(); err != nil {
			a.log.Warn("closing database", slog.Any("error", err))
		}
	}
}

// Ready implements handlers.ReadinessChecker: the database answers, no
// migration is pending and no shutdown has begun.
func (a *App) Ready(ctx context.Context) (map[string]string, bool) {
	if a.draining.Load() {
		return map[string]string{"shutdown": "draining"}, false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "migrations": "ok"}
	ok := true
	if err := a.db.Ping(ctx); err != nil {
		checks["database"] = "down"
		ok = false
	}
	a.mu.Lock()
	migrated := a.migrated
	a.mu.Unlock()
	if !migrated && ok {
		pending, err := a.migrator.Pending(ctx)
		switch {
		case err != nil:
			checks["migrations"] = "unknown"
			ok = false
		case pending > 0:
			checks["migrations"] = fmt.Sprintf("%d pending", pending)
			ok = false
		default:
			a.mu.Lock()
			a.migrated = true
			a.mu.Unlock()
		}
	}
	return checks, ok
}

func (a *App) healthChecker() *health.Checker {
	probes := []health.Probe{{
		Name: "database", Mode: mode(a.cfg.DatabaseURL), Required: true, Ping: a.db.Ping,
	}, {
		Name: "nats", Mode: mode(a.cfg.NATSURL), Required: true, Ping: a.bus.Ping,
	}}
	redisProbe := health.Probe{Name: "redis", Mode: "embedded", Ping: func(context.Context) error { return nil }}
	if a.redis != nil {
		redisProbe = health.Probe{Name: "redis", Mode: "external", Required: true,
			Ping: func(ctx context.Context) error { return a.redis.Ping(ctx).Err() }}
	}
	probes = append(probes, redisProbe)
	return health.New(a.build.Version, 2*time.Second, a.breakers, probes...)
}

func (a *App) metricsHandler() http.Handler {
	return promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{Registry: a.registry})
}

func mode(url string) string {
	if url == "" {
		return "embedded"
	}
	return "external"
}

func buildInfo(b BuildInfo) prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "build_info", Help: "Version and commit of the running binary.",
	}, []string{"version", "commit"})
	g.WithLabelValues(b.Version, b.Commit).Set(1)
	return g
}

var _ handlers.ReadinessChecker = (*App)(nil)
