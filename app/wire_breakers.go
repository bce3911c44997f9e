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
	"github.com/golden-architecture/control-plane/services/ratelimit"
)

// breakerResetChannel is the pub/sub channel of breaker resets, under
// REDIS_KEY_PREFIX so that separate deployments sharing a Redis stay apart.
const breakerResetChannel = "breakers:reset"

// wireBreakers builds the breaker registry (a.breakers) with the "database"
// breaker installed on the GORM handle, "nats", and "redis" when Redis is
// configured; the reset broadcast and its subscriber worker; and
// /api/v1/circuit-breakers. It runs before the other capabilities, which
// guard their calls through a.breakers and report its states in /health.
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
	deps.Resources = append(deps.Resources, &handlers.Breakers{
		Service: breaker.New(reg, bc, audit.New(a.db.DB), a.cfg.InstanceID, a.log),
	})
	return nil
}

// breakerGuard is the ratelimit.Guard of the named breaker; a pass-through
// when there is none.
func (a *App) breakerGuard(name string) ratelimit.Guard {
	if b, ok := a.breakers.Get(name); ok {
		return b.Do
	}
	return ratelimit.PassThrough
}

// guardKV puts the "redis" breaker in front of a Redis kv store (login
// lockout and token revocation).
func (a *App) guardKV(store kv.Store) kv.Store {
	if b, ok := a.breakers.Get(breaker.Redis); ok {
		return kv.Guarded(store, b.Do)
	}
	return store
}

// guardPublisher puts the "nats" breaker in front of the DLQ requeue publish.
func (a *App) guardPublisher(p dlq.Publisher) dlq.Publisher {
	b, ok := a.breakers.Get(breaker.NATS)
	if !ok {
		return p
	}
	return dlq.PublisherFunc(func(ctx context.Context, msg *nats.Msg, dedupID string) error {
		return b.Do(ctx, func(ctx context.Context) error { return p.Publish(ctx, msg, dedupID) })
	})
}
