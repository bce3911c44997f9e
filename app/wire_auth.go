package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/platform/kv"
	"github.com/golden-architecture/control-plane/services/apikeys"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/tenants"
	"gorm.io/gorm"
)

// Auth timing that is not configurable: how often the key directory is
// re-read (a rotation by another process applies within this), the least time
// between reloads triggered by an unknown kid, how long a verified token's
// user is cached (a disabled account, a role, tenant or password change by
// another replica applies within this: the 1 s of issue 19; the replica that
// made the change drops its copy at once),
// and how long a checked token or API key is trusted before its signature and
// revocation (or the key's row and its creator) are checked again (a logout,
// a key's revocation or rotation, a disabled creator on another replica
// apply within this).
const (
	keyReloadEvery   = 30 * time.Second
	keyReloadMinGap  = time.Second
	userCacheTTL     = time.Second
	tokenCacheTTL    = time.Second
	tokenLeeway      = 5 * time.Second
	memorySweepEvery = time.Minute
)

// KeysDir is where the RS256 private keys live: JWT_KEYS_DIR, else DATA_DIR/keys.
func KeysDir(cfg config.Config) string {
	if cfg.JWTKeysDir != "" {
		return cfg.JWTKeysDir
	}
	return filepath.Join(cfg.DataDir, "keys")
}

// KeyRetention is how long a retired key keeps verifying: a token it signed
// lives at most JWT_TTL, and a replica may keep signing with it for one reload
// interval after another process rotated.
func KeyRetention(cfg config.Config) time.Duration { return cfg.JWTTTL + keyReloadEvery }

// wireAuth builds users, tokens, lockout and revocation, seeds accounts, and
// registers login/logout/me, the JWKS document, the audit listing, the API
// keys (accepted wherever a token is) and the admin config endpoint.
func (a *App) wireAuth(ctx context.Context, deps *handlers.Deps) error {
	store := a.kvStore()
	users := auth.NewUsers(a.db.DB, a.cfg.BcryptCost, nil)
	if err := a.seedUsers(ctx, users); err != nil {
		return err
	}
	tokens, err := a.tokens()
	if err != nil {
		return err
	}
	auditor := audit.New(a.db.DB)
	svc, err := auth.New(users, tokens, store, auditor, a.log, a.registry, auth.Options{
		MaxAttempts:   a.cfg.LoginMaxAttempts,
		LockoutTTL:    a.cfg.LoginLockoutTTL,
		FailOpen:      a.cfg.RateLimitFailMode == "open",
		UserCacheTTL:  userCacheTTL,
		TokenCacheTTL: tokenCacheTTL,
		DefaultTenant: a.cfg.DefaultTenant,
	})
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	keys := apikeys.New(a.db.DB, auditor, apikeys.Options{CheckTTL: tokenCacheTTL, Log: a.log})
	svc.UseKeys(keys)
	h := &handlers.Auth{Service: svc, Keys: tokens}
	deps.Verifier = svc
	deps.Root = append(deps.Root, h.RegisterRoot)
	deps.Public = append(deps.Public, h.RegisterPublic)
	deps.Resources = append(deps.Resources, h,
		&handlers.Users{Service: svc},
		&handlers.Audit{Service: auditor},
		&handlers.Keys{Service: keys, Tenants: a.tenants},
		&handlers.Admin{Config: a.cfg.Redacted})
	return nil
}

// kvStore is Redis when REDIS_URL is set, process memory otherwise.
func (a *App) kvStore() kv.Store {
	if a.redis != nil {
		return a.guardKV(kv.NewRedis(a.redis, a.cfg.RedisKeyPrefix, a.cfg.RedisCallTimeout))
	}
	mem := kv.NewMemory(nil)
	a.workers = append(a.workers, authPeriodic(memorySweepEvery, mem.Sweep))
	return mem
}

// seedUsers creates the demo users (embedded mode, or SEED_DEMO_USERS=true)
// and the bootstrap admin (ADMIN_USERNAME/ADMIN_PASSWORD).
func (a *App) seedUsers(ctx context.Context, users *auth.Users) error {
	return seedUsers(ctx, a.cfg, a.db.DB, users, a.log)
}

// SeedAccounts does at the end of `control-plane migrate` what a start does
// once the schema is there: brings the data under the tenant rules (the
// DEFAULT_TENANT backfill) and creates the demo users and the bootstrap admin
// by the same configuration rules. So a server started with
// MIGRATE_ON_START=false on an empty database gets its accounts once the
// operator applies the migrations. Idempotent, and safe with replicas doing
// the same at once (the inserts skip existing rows).
func SeedAccounts(ctx context.Context, cfg config.Config, db *gorm.DB, log *slog.Logger) error {
	if err := tenants.New(db, audit.New(db)).Backfill(ctx, cfg.DefaultTenant); err != nil {
		return fmt.Errorf("backfill tenants: %w", err)
	}
	return seedUsers(ctx, cfg, db, auth.NewUsers(db, cfg.BcryptCost, nil), log)
}

func seedUsers(ctx context.Context, cfg config.Config, db *gorm.DB, users *auth.Users, log *slog.Logger) error {
	if !db.Migrator().HasTable("users") {
		// MIGRATE_ON_START=false with migrations pending: this replica is not
		// ready; `control-plane migrate` (or a start with MIGRATE_ON_START=true)
		// seeds the accounts when it applies the migrations.
		log.Warn("users table missing (migrations pending); accounts not seeded by this instance: `control-plane migrate` seeds them")
		return nil
	}
	if cfg.SeedDemoUsers {
		created, err := users.SeedDemo(ctx, cfg.DefaultTenant)
		if err != nil {
			return err
		}
		log.Warn("demo users with well-known passwords are enabled (admin/admin123, operator/operator123, developer/dev123, observer/obs123); set SEED_DEMO_USERS=false and ADMIN_USERNAME/ADMIN_PASSWORD for real use",
			slog.Any("created_now", created), slog.String("tenant", cfg.DefaultTenant))
	}
	if cfg.AdminUsername != "" {
		changed, err := users.EnsureAdmin(ctx, cfg.AdminUsername, cfg.AdminPassword)
		if err != nil {
			return err
		}
		log.Info("bootstrap admin", slog.String("username", auth.NormalizeUsername(cfg.AdminUsername)), slog.Bool("changed", changed))
		return nil
	}
	var accounts int64
	if err := db.WithContext(ctx).Table("users").Count(&accounts).Error; err != nil {
		return fmt.Errorf("count accounts: %w", err)
	}
	if accounts == 0 {
		log.Warn("no account exists and ADMIN_USERNAME is not set: nobody can log in; set ADMIN_USERNAME and ADMIN_PASSWORD, or create one with `control-plane users create --username … --role admin`")
	}
	return nil
}

// tokens is HS256 with JWT_SECRET, else RS256 from the key directory
// (generated on first start in embedded mode, required in production).
func (a *App) tokens() (*auth.Tokens, error) {
	opts := auth.TokenOptions{
		Issuer: a.cfg.JWTIssuer, Audience: a.cfg.JWTAudience, TTL: a.cfg.JWTTTL, Leeway: tokenLeeway,
	}
	if a.cfg.JWTSecret != "" {
		opts.Secret = []byte(a.cfg.JWTSecret)
		a.log.Info("jwt", slog.String("alg", "HS256"))
		return auth.NewTokens(opts)
	}
	dir := KeysDir(a.cfg)
	keys, err := auth.OpenKeySet(auth.KeySetOptions{
		Dir: dir, Retention: KeyRetention(a.cfg), MinReload: keyReloadMinGap,
	}, !a.cfg.Production())
	if err != nil {
		return nil, err
	}
	a.workers = append(a.workers, authPeriodic(keyReloadEvery, func() {
		if err := keys.Reload(); err != nil {
			a.log.Warn("reloading JWT keys failed; keeping the loaded ones", slog.Any("error", err))
		}
	}))
	ids := keys.Keys()
	a.log.Info("jwt", slog.String("alg", "RS256"), slog.String("keys_dir", dir),
		slog.String("current_kid", ids[len(ids)-1].ID), slog.Int("verification_keys", len(ids)))
	opts.Keys = keys
	return auth.NewTokens(opts)
}

// authPeriodic returns a worker that calls f every d until its context ends.
func authPeriodic(d time.Duration, f func()) func(context.Context) {
	return func(ctx context.Context) {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f()
			}
		}
	}
}
