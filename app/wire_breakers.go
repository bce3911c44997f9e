package app

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/platform/kv"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/breaker"
	"github.com/golden-architecture/control-plane/services/dlq"
	"github.com/golden-architecture/control-plane/services/health"
	"github.com/golden-architecture/control-plane/services/ratelimit"
)

// breakerResetChannel is the pub/sub channel of breaker resets, under
// REDIS_KEY_PREFIX so that separate deployments sharing a Redis stay apart.
const breakerResetChannel = "breakers:reset"

// wireBreakers builds the breaker registry (a.breakers) with the "database"
// breaker installed on the GORM handle, "nats", and "redis" when Redis is
// configured; the reset broadcast and its subscriber worker; the breaker
// states in /health; and /api/v1/circuit-breakers. It runs before the other
// capabilities, which guard their calls through a.breakers.
func (a *App) wireBreakers(deps *handlers.Deps) error {
	reg, err := breaker.NewRegistry(breaker.Options{
		Settings: breaker.Settings{
			FailureThreshold: a.cfg.BreakerFailureThreshold,
			OpenTimeout:      a.cfg.BreakerOpenTimeout,
			HalfOpenMaxCalls: a.cfg.BreakerHalfOpenMaxCalls,
		},
		Log:        a.log,
		Registerer: a.registry,
	})
	if err != nil {
		return fmt.Errorf("circuit breakers: %w", err)
	}
	db, err := reg.Add(breaker.Database, breaker.DatabaseFailure)
	if err != nil {
		return err
	}
	if err := a.db.DB.Use(breaker.NewGORMPlugin(db)); err != nil {
		return fmt.Errorf("database breaker: %w", err)
	}
	if _, err := reg.Add(breaker.NATS, breaker.NATSFailure); err != nil {
		return err
	}
	var bc breaker.Broadcaster
	if a.redis != nil || a.cfg.RateLimitStorageURI != "" {
		redisBreaker, err := reg.Add(breaker.Redis, breaker.RedisFailure)
		if err != nil {
			return err
		}
		if a.redis != nil {
			rb := breaker.NewRedisBroadcast(a.redis, reg, breaker.BroadcastOptions{
				Channel: a.cfg.RedisKeyPrefix + breakerResetChannel,
				Guard:   redisBreaker,
				Timeout: max(a.cfg.RedisCallTimeout, time.Second),
				Log:     a.log,
			})
			a.workers = append(a.workers, rb.Listen)
			bc = rb
		}
	}
	a.breakers = reg
	deps.Health.Checker = breakerHealth{HealthChecker: deps.Health.Checker, reg: reg}
	deps.Resources = append(deps.Resources, &handlers.Breakers{
		Service: breaker.NewService(reg, bc, audit.New(a.db.DB), a.cfg.InstanceID, a.log),
	})
	return nil
}

// breakerGuard is the ratelimit.Guard of the named breaker; a pass-through
// when there is none.
func (a *App) breakerGuard(name string) ratelimit.Guard {
	if a.breakers != nil {
		if b, ok := a.breakers.Get(name); ok {
			return b.Do
		}
	}
	return ratelimit.PassThrough
}

// guardKV puts the "redis" breaker in front of a Redis kv store (login
// lockout and token revocation).
func (a *App) guardKV(store kv.Store) kv.Store {
	if a.breakers == nil {
		return store
	}
	b, ok := a.breakers.Get(breaker.Redis)
	if !ok {
		return store
	}
	return guardedKV{store: store, b: b}
}

// guardPublisher puts the "nats" breaker in front of the DLQ requeue publish.
func (a *App) guardPublisher(p dlq.Publisher) dlq.Publisher {
	if a.breakers == nil {
		return p
	}
	b, ok := a.breakers.Get(breaker.NATS)
	if !ok {
		return p
	}
	return dlq.PublisherFunc(func(ctx context.Context, msg *nats.Msg, dedupID string) error {
		return b.Do(ctx, func(ctx context.Context) error { return p.Publish(ctx, msg, dedupID) })
	})
}

// guardedKV is a kv.Store whose calls pass through a breaker: while it is
// open they fail at once and the callers apply RATE_LIMIT_FAIL_MODE.
type guardedKV struct {
	store kv.Store
	b     *breaker.Breaker
}

var _ kv.Store = guardedKV{}

// Incr implements kv.Store.
func (g guardedKV) Incr(ctx context.Context, key string, ttl time.Duration) (n int64, left time.Duration, err error) {
	err = g.b.Do(ctx, func(ctx context.Context) error {
		var err error
		n, left, err = g.store.Incr(ctx, key, ttl)
		return err
	})
	return n, left, err
}

// Get implements kv.Store.
func (g guardedKV) Get(ctx context.Context, key string) (n int64, left time.Duration, err error) {
	err = g.b.Do(ctx, func(ctx context.Context) error {
		var err error
		n, left, err = g.store.Get(ctx, key)
		return err
	})
	return n, left, err
}

// Set implements kv.Store.
func (g guardedKV) Set(ctx context.Context, key string, n int64, ttl time.Duration) error {
	return g.b.Do(ctx, func(ctx context.Context) error { return g.store.Set(ctx, key, n, ttl) })
}

// Delete implements kv.Store.
func (g guardedKV) Delete(ctx context.Context, key string) error {
	return g.b.Do(ctx, func(ctx context.Context) error { return g.store.Delete(ctx, key) })
}

// breakerHealth adds the breaker states to GET /health.
type breakerHealth struct {
	handlers.HealthChecker
	reg *breaker.Registry
}

// Check implements handlers.HealthChecker.
func (h breakerHealth) Check(ctx context.Context) (health.Report, bool) {
	r, ok := h.HealthChecker.Check(ctx)
	states := map[string]string{}
	for name, s := range h.reg.States() {
		states[name] = string(s)
	}
	r.AddBreakers(states)
	return r, ok
}
