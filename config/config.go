// Package config loads the service's one typed configuration from the
// environment, once, at start. Every variable has a default or a clear
// "required" error naming it; secrets may come from NAME_FILE. The mode of each
// component (embedded or external) is decided here, so the rest of the code
// never reads the environment.
package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Config is the effective configuration of one server process.
type Config struct {
	Host    string
	Port    int
	DataDir string

	DatabaseURL string
	DBMinConns  int
	DBMaxConns  int

	RedisURL       string
	RedisKeyPrefix string

	// SQLitePath is the embedded database file (default DATA_DIR/control-plane.db).
	SQLitePath string

	NATSURL          string
	EmbeddedNATSPort int

	JWTSecret   string
	JWTKeysDir  string
	JWTIssuer   string
	JWTAudience string
	JWTTTL      time.Duration

	BcryptCost int
	// DefaultTenant is the tenant of the demo users and of the accounts a
	// release without tenants left without one.
	DefaultTenant string
	SeedDemoUsers bool
	AdminUsername string
	AdminPassword string

	CORSAllowOrigins []string
	TrustedProxies   []string

	LoginMaxAttempts int
	LoginLockoutTTL  time.Duration

	RateLimitsEnabled   bool
	RateLimitStorageURI string
	RateLimitPrefix     string
	RateLimitFailMode   string
	RateLimits          RateLimits
	RedisCallTimeout    time.Duration

	BudgetDefaultLimit   int64
	BudgetReservationTTL time.Duration
	BudgetSweepInterval  time.Duration
	// BudgetCommitMaxRatio caps a commit at estimated tokens × this.
	BudgetCommitMaxRatio float64

	DLQStream        string
	DLQSubjectPrefix string
	DLQMaxAge        time.Duration
	DLQConsumer      string

	BreakerFailureThreshold int
	BreakerOpenTimeout      time.Duration
	BreakerHalfOpenMaxCalls int

	// LLMModels is the gateway's model list (YAML or JSON), from LLM_MODELS
	// or the file LLM_MODELS_FILE names (read like a secret file).
	LLMModels        string
	OpenAIAPIKey     string
	OpenAIBaseURL    string
	AnthropicAPIKey  string
	AnthropicBaseURL string
	// LLMRequestTimeout bounds one provider call (a whole stream).
	LLMRequestTimeout time.Duration
	// LLMEarlyStart lets a call on a budget with clear room start its
	// provider call beside its reservation (LLM_EARLY_START).
	LLMEarlyStart bool

	// OTELExporterOTLPEndpoint is the OTLP/HTTP collector the gateway's
	// spans go to; empty turns tracing off (a no-op tracer).
	OTELExporterOTLPEndpoint string
	// OTELServiceName is the service.name of the exported spans.
	OTELServiceName string

	MetricsBearerToken string
	// PprofAddr serves net/http/pprof on this loopback address when set.
	PprofAddr string

	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration
	// ShutdownDrainDelay is how long a stopping server keeps serving with
	// readiness at 503, so load balancers stop sending before it closes.
	ShutdownDrainDelay time.Duration
	MigrateOnStart     bool
	MaxBodyBytes       int64
	InstanceID         string
}

// RateLimits holds every limit, parsed from ulule/limiter's format ("100-M").
type RateLimits struct {
	Admin         Rate
	Operator      Rate
	Developer     Rate
	Observer      Rate
	Anonymous     Rate
	Login         Rate
	BudgetRequest Rate
	BreakerReset  Rate
	Health        Rate
}

// Rate is a request limit: Limit requests (at least one) per Period. It is
// written "<limit>-<S|M|H|D>" in the environment and in the redacted
// configuration.
type Rate struct {
	Limit  int64
	Period time.Duration
}

// String writes the rate back in the format it was read from.
func (r Rate) String() string {
	unit := map[time.Duration]string{time.Second: "S", time.Minute: "M", time.Hour: "H", 24 * time.Hour: "D"}[r.Period]
	return fmt.Sprintf("%d-%s", r.Limit, unit)
}

// MarshalText makes a rate read "100-M" in JSON (the redacted configuration).
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Production reports whether the process runs against external stores. A
// DATABASE_URL makes it production: demo users are then opt-in and a JWT key
// is required.
func (c Config) Production() bool { return c.DatabaseURL != "" }

// LoopbackOnly reports whether an unset HOST means 127.0.0.1: embedded mode
// with the demo users, whose passwords are public, is not exposed to the
// network unless HOST is set explicitly (HOST=0.0.0.0; the container images
// and manifests set it).
func (c Config) LoopbackOnly() bool { return !c.Production() && c.SeedDemoUsers }

// Addr is the listen address.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, fmt.Sprint(c.Port)) }

// Load reads the configuration through getenv (os.Getenv in main, a map in
// tests) and validates it. The error lists every bad variable by name.
func Load(getenv func(string) string) (Config, error) {
	l := &loader{getenv: getenv}
	c := Config{
		Host:    l.str("HOST", "0.0.0.0"),
		Port:    l.intIn("PORT", 8000, 1, 65535),
		DataDir: l.str("DATA_DIR", "./data"),

		DatabaseURL: l.secret("DATABASE_URL", ""),
		DBMinConns:  l.intIn("DB_MIN_CONNS", 2, 0, 1000),
		DBMaxConns:  l.intIn("DB_MAX_CONNS", 10, 1, 1000),

		RedisURL:       l.secret("REDIS_URL", ""),
		RedisKeyPrefix: l.str("REDIS_KEY_PREFIX", "cp:"),

		NATSURL:          l.secret("NATS_URL", ""),
		EmbeddedNATSPort: l.intIn("EMBEDDED_NATS_PORT", 0, 0, 65535),

		JWTSecret:   l.secret("JWT_SECRET", ""),
		JWTKeysDir:  l.str("JWT_KEYS_DIR", ""),
		JWTIssuer:   l.str("JWT_ISSUER", "golden-architecture"),
		JWTAudience: l.str("JWT_AUDIENCE", "control-plane"),
		JWTTTL:      l.durIn("JWT_TTL", time.Hour, time.Minute, 7*24*time.Hour),

		BcryptCost:    l.intIn("BCRYPT_COST", 12, 4, 31),
		DefaultTenant: l.str("DEFAULT_TENANT", "default"),
		AdminUsername: l.str("ADMIN_USERNAME", ""),
		AdminPassword: l.secret("ADMIN_PASSWORD", ""),

		CORSAllowOrigins: l.list("CORS_ALLOW_ORIGINS"),
		TrustedProxies:   l.list("TRUSTED_PROXIES"),

		LoginMaxAttempts: l.intIn("LOGIN_MAX_ATTEMPTS", 5, 1, 1000),
		LoginLockoutTTL:  time.Duration(l.intIn("LOGIN_LOCKOUT_TTL_SECONDS", 900, 1, 86400)) * time.Second,

		RateLimitsEnabled: l.boolean("RATE_LIMITS_ENABLED", true),
		RateLimitPrefix:   l.str("RATE_LIMIT_PREFIX", "ratelimit"),
		RateLimitFailMode: l.oneOf("RATE_LIMIT_FAIL_MODE", "open", "open", "closed"),
		RateLimits: RateLimits{
			Admin:         l.rate("RATE_LIMIT_ADMIN", Rate{100, time.Minute}),
			Operator:      l.rate("RATE_LIMIT_OPERATOR", Rate{50, time.Minute}),
			Developer:     l.rate("RATE_LIMIT_DEVELOPER", Rate{30, time.Minute}),
			Observer:      l.rate("RATE_LIMIT_OBSERVER", Rate{20, time.Minute}),
			Anonymous:     l.rate("RATE_LIMIT_ANONYMOUS", Rate{5, time.Minute}),
			Login:         l.rate("RATE_LIMIT_LOGIN", Rate{5, time.Minute}),
			BudgetRequest: l.rate("RATE_LIMIT_BUDGET_REQUEST", Rate{30, time.Minute}),
			BreakerReset:  l.rate("RATE_LIMIT_BREAKER_RESET", Rate{5, time.Minute}),
			Health:        l.rate("RATE_LIMIT_HEALTH", Rate{60, time.Minute}),
		},
		RedisCallTimeout: l.durIn("REDIS_CALL_TIMEOUT", 250*time.Millisecond, time.Millisecond, time.Minute),

		BudgetDefaultLimit:   int64(l.intIn("BUDGET_DEFAULT_LIMIT", 100000, 0, 1_000_000_000_000)),
		BudgetReservationTTL: l.durIn("BUDGET_RESERVATION_TTL", time.Hour, time.Second, 30*24*time.Hour),
		BudgetSweepInterval:  l.durIn("BUDGET_SWEEP_INTERVAL", 30*time.Second, 10*time.Millisecond, 24*time.Hour),
		BudgetCommitMaxRatio: l.floatIn("BUDGET_COMMIT_MAX_RATIO", 2, 1, 1000),

		DLQStream:        l.str("DLQ_STREAM", "DLQ"),
		DLQSubjectPrefix: l.str("DLQ_SUBJECT_PREFIX", "dlq"),
		DLQMaxAge:        l.durIn("DLQ_MAX_AGE", 7*24*time.Hour, time.Minute, 365*24*time.Hour),
		DLQConsumer:      l.str("DLQ_CONSUMER", "control-plane-dlq"),

		BreakerFailureThreshold: l.intIn("BREAKER_FAILURE_THRESHOLD", 5, 1, 1000),
		BreakerOpenTimeout:      l.durIn("BREAKER_OPEN_TIMEOUT", 30*time.Second, 10*time.Millisecond, time.Hour),
		BreakerHalfOpenMaxCalls: l.intIn("BREAKER_HALF_OPEN_MAX_CALLS", 3, 1, 1000),

		LLMModels:         l.secret("LLM_MODELS", ""),
		OpenAIAPIKey:      l.secret("OPENAI_API_KEY", ""),
		OpenAIBaseURL:     l.str("OPENAI_BASE_URL", DefaultOpenAIBaseURL),
		AnthropicAPIKey:   l.secret("ANTHROPIC_API_KEY", ""),
		AnthropicBaseURL:  l.str("ANTHROPIC_BASE_URL", DefaultAnthropicBaseURL),
		LLMRequestTimeout: l.durIn("LLM_REQUEST_TIMEOUT", 2*time.Minute, time.Second, time.Hour),
		LLMEarlyStart:     l.boolean("LLM_EARLY_START", true),

		OTELExporterOTLPEndpoint: l.str("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
		OTELServiceName:          l.str("OTEL_SERVICE_NAME", "control-plane"),

		MetricsBearerToken: l.secret("METRICS_BEARER_TOKEN", ""),
		PprofAddr:          l.str("PPROF_ADDR", ""),

		LogLevel:           l.oneOf("LOG_LEVEL", "info", "debug", "info", "warn", "error"),
		LogFormat:          l.oneOf("LOG_FORMAT", "json", "json", "text"),
		ShutdownTimeout:    l.durIn("SHUTDOWN_TIMEOUT", 15*time.Second, 0, 10*time.Minute),
		ShutdownDrainDelay: l.durIn("SHUTDOWN_DRAIN_DELAY", 0, 0, 5*time.Minute),
		MigrateOnStart:     l.boolean("MIGRATE_ON_START", true),
		MaxBodyBytes:       int64(l.intIn("MAX_BODY_BYTES", 1<<20, 1024, 1<<30)),
		InstanceID:         l.str("INSTANCE_ID", defaultInstanceID()),
	}
	c.RateLimitStorageURI = l.secret("RATE_LIMIT_STORAGE_URI", c.RedisURL)
	c.SQLitePath = l.str("SQLITE_PATH", filepath.Join(c.DataDir, "control-plane.db"))
	c.SeedDemoUsers = l.boolean("SEED_DEMO_USERS", !c.Production())
	if _, set := l.raw("HOST"); !set && c.LoopbackOnly() {
		c.Host = "127.0.0.1"
	}
	c.validate(l)
	return c, l.err()
}

func (c *Config) validate(l *loader) {
	if c.DBMinConns > c.DBMaxConns {
		l.fail("DB_MIN_CONNS", "must not exceed DB_MAX_CONNS (%d)", c.DBMaxConns)
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		l.fail("JWT_SECRET", "must be at least 32 bytes (got %d); generate one with `openssl rand -base64 48`", len(c.JWTSecret))
	}
	if c.Production() && c.JWTSecret == "" && c.JWTKeysDir == "" {
		l.fail("JWT_SECRET", "production (DATABASE_URL set) needs JWT_SECRET (HS256) or JWT_KEYS_DIR (RS256 keys)")
	}
	for _, o := range c.CORSAllowOrigins {
		if o == "*" {
			l.fail("CORS_ALLOW_ORIGINS", `"*" cannot be combined with credentials; list the allowed origins`)
		}
	}
	if (c.AdminUsername == "") != (c.AdminPassword == "") {
		l.fail("ADMIN_PASSWORD", "ADMIN_USERNAME and ADMIN_PASSWORD must be set together")
	}
	for name, raw := range map[string]string{"DATABASE_URL": c.DatabaseURL, "REDIS_URL": c.RedisURL, "NATS_URL": c.NATSURL} {
		if raw == "" {
			continue
		}
		if u, err := url.Parse(raw); err != nil || u.Scheme == "" || u.Host == "" {
			l.fail(name, "is not a URL with a scheme and a host")
		}
	}
	if c.RateLimitStorageURI != "" && c.RateLimitStorageURI != c.RedisURL {
		if u, err := url.Parse(c.RateLimitStorageURI); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			l.fail("RATE_LIMIT_STORAGE_URI", "must be a redis:// or rediss:// URL")
		}
	}
	if !tenantSlug.MatchString(c.DefaultTenant) {
		l.fail("DEFAULT_TENANT", "%q is not a tenant id: 1 to 64 lowercase letters, digits, '-' and '_', starting with a letter or digit", c.DefaultTenant)
	}
	for name, raw := range map[string]string{"OPENAI_BASE_URL": c.OpenAIBaseURL, "ANTHROPIC_BASE_URL": c.AnthropicBaseURL} {
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.fail(name, "is not an http(s) URL")
		}
	}
	if raw := c.OTELExporterOTLPEndpoint; raw != "" {
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.fail("OTEL_EXPORTER_OTLP_ENDPOINT", "is not an http(s) URL (the OTLP/HTTP collector, e.g. http://otel-collector:4318)")
		}
	}
	if !validSubjectToken(c.DLQSubjectPrefix) {
		l.fail("DLQ_SUBJECT_PREFIX", "must be a NATS subject without wildcards or spaces")
	}
}

// The providers' public API roots, the defaults of OPENAI_BASE_URL and
// ANTHROPIC_BASE_URL.
const (
	DefaultOpenAIBaseURL    = "https://api.openai.com/v1"
	DefaultAnthropicBaseURL = "https://api.anthropic.com"
)

// tenantSlug is the tenant id rule of services/tenants (config is a leaf and
// cannot import it; app's TestDefaultTenantFollowsTheTenantRule keeps the two
// equal).
var tenantSlug = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func validSubjectToken(s string) bool {
	return s != "" && !strings.ContainsAny(s, "*> \t\r\n") && !strings.HasPrefix(s, ".") && !strings.HasSuffix(s, ".")
}

func defaultInstanceID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}
