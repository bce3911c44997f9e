package config

import (
	"net/url"
	"strings"
)

// Redacted returns the effective configuration for logs and GET
// /api/v1/admin/config: secrets are replaced by whether they are set and
// passwords inside URLs are masked.
func (c Config) Redacted() map[string]any {
	return map[string]any{
		"mode":                        c.mode(),
		"host":                        c.Host,
		"port":                        c.Port,
		"data_dir":                    c.DataDir,
		"database_url":                maskURL(c.DatabaseURL),
		"db_min_conns":                c.DBMinConns,
		"db_max_conns":                c.DBMaxConns,
		"redis_url":                   maskURL(c.RedisURL),
		"redis_key_prefix":            c.RedisKeyPrefix,
		"sqlite_path":                 c.SQLitePath,
		"nats_url":                    maskURL(c.NATSURL),
		"embedded_nats_port":          c.EmbeddedNATSPort,
		"jwt_secret_set":              c.JWTSecret != "",
		"jwt_keys_dir":                c.JWTKeysDir,
		"jwt_issuer":                  c.JWTIssuer,
		"jwt_audience":                c.JWTAudience,
		"jwt_ttl":                     c.JWTTTL.String(),
		"bcrypt_cost":                 c.BcryptCost,
		"seed_demo_users":             c.SeedDemoUsers,
		"admin_username":              c.AdminUsername,
		"admin_password_set":          c.AdminPassword != "",
		"cors_allow_origins":          c.CORSAllowOrigins,
		"trusted_proxies":             c.TrustedProxies,
		"login_max_attempts":          c.LoginMaxAttempts,
		"login_lockout_ttl":           c.LoginLockoutTTL.String(),
		"rate_limits_enabled":         c.RateLimitsEnabled,
		"rate_limit_storage_uri":      maskURL(c.RateLimitStorageURI),
		"rate_limit_prefix":           c.RateLimitPrefix,
		"rate_limit_fail_mode":        c.RateLimitFailMode,
		"rate_limits":                 c.RateLimits,
		"redis_call_timeout":          c.RedisCallTimeout.String(),
		"budget_default_limit":        c.BudgetDefaultLimit,
		"budget_reservation_ttl":      c.BudgetReservationTTL.String(),
		"budget_sweep_interval":       c.BudgetSweepInterval.String(),
		"dlq_stream":                  c.DLQStream,
		"dlq_subject_prefix":          c.DLQSubjectPrefix,
		"dlq_max_age":                 c.DLQMaxAge.String(),
		"dlq_consumer":                c.DLQConsumer,
		"breaker_failure_threshold":   c.BreakerFailureThreshold,
		"breaker_open_timeout":        c.BreakerOpenTimeout.String(),
		"breaker_half_open_max_calls": c.BreakerHalfOpenMaxCalls,
		"metrics_bearer_token_set":    c.MetricsBearerToken != "",
		"pprof_addr":                  c.PprofAddr,
		"log_level":                   c.LogLevel,
		"log_format":                  c.LogFormat,
		"shutdown_timeout":            c.ShutdownTimeout.String(),
		"shutdown_drain_delay":        c.ShutdownDrainDelay.String(),
		"migrate_on_start":            c.MigrateOnStart,
		"max_body_bytes":              c.MaxBodyBytes,
		"instance_id":                 c.InstanceID,
	}
}

func (c Config) mode() string {
	if c.Production() {
		return "production"
	}
	return "embedded"
}

// maskURL hides the password (and a token-like user) of a connection URL.
func maskURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable>"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") || strings.Contains(strings.ToLower(k), "token") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
