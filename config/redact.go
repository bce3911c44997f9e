package config

import (
	"net/url"
	"strings"
)

// Masked stands for a secret that is set, in Redacted, and for the password
// or token inside a URL.
const Masked = "xxxxx"

// Redacted returns the effective configuration for the start log line and
// GET /api/v1/admin/config, keyed by the variable that sets each value, so
// what is shown is what to set. Secrets read Masked when set and "" when
// not; passwords and tokens inside URLs are masked. Values are written the
// way their variables accept them ("15s", "100-M", "a,b").
func (c Config) Redacted() map[string]any {
	l := c.RateLimits
	return map[string]any{
		"HOST":                        c.Host,
		"PORT":                        c.Port,
		"DATA_DIR":                    c.DataDir,
		"DATABASE_URL":                maskURL(c.DatabaseURL),
		"DB_MIN_CONNS":                c.DBMinConns,
		"DB_MAX_CONNS":                c.DBMaxConns,
		"REDIS_URL":                   maskURL(c.RedisURL),
		"REDIS_KEY_PREFIX":            c.RedisKeyPrefix,
		"SQLITE_PATH":                 c.SQLitePath,
		"NATS_URL":                    maskURL(c.NATSURL),
		"EMBEDDED_NATS_PORT":          c.EmbeddedNATSPort,
		"JWT_SECRET":                  mask(c.JWTSecret),
		"JWT_KEYS_DIR":                c.JWTKeysDir,
		"JWT_ISSUER":                  c.JWTIssuer,
		"JWT_AUDIENCE":                c.JWTAudience,
		"JWT_TTL":                     c.JWTTTL.String(),
		"BCRYPT_COST":                 c.BcryptCost,
		"SEED_DEMO_USERS":             c.SeedDemoUsers,
		"DEFAULT_TENANT":              c.DefaultTenant,
		"ADMIN_USERNAME":              c.AdminUsername,
		"ADMIN_PASSWORD":              mask(c.AdminPassword),
		"CORS_ALLOW_ORIGINS":          strings.Join(c.CORSAllowOrigins, ","),
		"TRUSTED_PROXIES":             strings.Join(c.TrustedProxies, ","),
		"LOGIN_MAX_ATTEMPTS":          c.LoginMaxAttempts,
		"LOGIN_LOCKOUT_TTL_SECONDS":   int(c.LoginLockoutTTL.Seconds()),
		"RATE_LIMITS_ENABLED":         c.RateLimitsEnabled,
		"RATE_LIMIT_STORAGE_URI":      maskURL(c.RateLimitStorageURI),
		"RATE_LIMIT_PREFIX":           c.RateLimitPrefix,
		"RATE_LIMIT_FAIL_MODE":        c.RateLimitFailMode,
		"RATE_LIMIT_ADMIN":            l.Admin,
		"RATE_LIMIT_OPERATOR":         l.Operator,
		"RATE_LIMIT_DEVELOPER":        l.Developer,
		"RATE_LIMIT_OBSERVER":         l.Observer,
		"RATE_LIMIT_ANONYMOUS":        l.Anonymous,
		"RATE_LIMIT_LOGIN":            l.Login,
		"RATE_LIMIT_BUDGET_REQUEST":   l.BudgetRequest,
		"RATE_LIMIT_BREAKER_RESET":    l.BreakerReset,
		"RATE_LIMIT_HEALTH":           l.Health,
		"REDIS_CALL_TIMEOUT":          c.RedisCallTimeout.String(),
		"BUDGET_DEFAULT_LIMIT":        c.BudgetDefaultLimit,
		"BUDGET_RESERVATION_TTL":      c.BudgetReservationTTL.String(),
		"BUDGET_SWEEP_INTERVAL":       c.BudgetSweepInterval.String(),
		"BUDGET_COMMIT_MAX_RATIO":     c.BudgetCommitMaxRatio,
		"DLQ_STREAM":                  c.DLQStream,
		"DLQ_SUBJECT_PREFIX":          c.DLQSubjectPrefix,
		"DLQ_MAX_AGE":                 c.DLQMaxAge.String(),
		"DLQ_CONSUMER":                c.DLQConsumer,
		"BREAKER_FAILURE_THRESHOLD":   c.BreakerFailureThreshold,
		"BREAKER_OPEN_TIMEOUT":        c.BreakerOpenTimeout.String(),
		"BREAKER_HALF_OPEN_MAX_CALLS": c.BreakerHalfOpenMaxCalls,
		"LLM_MODELS":                  c.LLMModels,
		"OPENAI_API_KEY":              mask(c.OpenAIAPIKey),
		"OPENAI_BASE_URL":             maskURL(c.OpenAIBaseURL),
		"ANTHROPIC_API_KEY":           mask(c.AnthropicAPIKey),
		"ANTHROPIC_BASE_URL":          maskURL(c.AnthropicBaseURL),
		"LLM_REQUEST_TIMEOUT":         c.LLMRequestTimeout.String(),
		"LLM_EARLY_START":             c.LLMEarlyStart,
		"OTEL_EXPORTER_OTLP_ENDPOINT": maskURL(c.OTELExporterOTLPEndpoint),
		"OTEL_SERVICE_NAME":           c.OTELServiceName,
		"METRICS_BEARER_TOKEN":        mask(c.MetricsBearerToken),
		"PPROF_ADDR":                  c.PprofAddr,
		"LOG_LEVEL":                   c.LogLevel,
		"LOG_FORMAT":                  c.LogFormat,
		"SHUTDOWN_TIMEOUT":            c.ShutdownTimeout.String(),
		"SHUTDOWN_DRAIN_DELAY":        c.ShutdownDrainDelay.String(),
		"MIGRATE_ON_START":            c.MigrateOnStart,
		"MAX_BODY_BYTES":              c.MaxBodyBytes,
		"INSTANCE_ID":                 c.InstanceID,
	}
}

// Mode is "production" when DATABASE_URL is set, else "embedded".
func (c Config) Mode() string {
	if c.Production() {
		return "production"
	}
	return "embedded"
}

// mask hides a secret's value but not whether it is set.
func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return Masked
}

// maskURL hides the password (and a token-like query value) of a
// connection URL.
func maskURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable>"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), Masked)
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") || strings.Contains(strings.ToLower(k), "token") {
			q.Set(k, Masked)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
