package kv

import (
	"context"
	"time"
)

// Guard runs one store call; a circuit breaker's Do is one, refusing the
// call at once while the store is known to be down.
type Guard func(ctx context.Context, call func(ctx context.Context) error) error

// Guarded returns a Store whose every call passes through guard.
func Guarded(s Store, guard Guard) Store { return guarded{store: s, guard: guard} }

type guarded struct {
	store Store
	guard Guard
}

// Incr implements Store.
func (g guarded) Incr(ctx context.Context, key string, ttl time.Duration) (n int64, left time.Duration, err error) {
	err = g.guard(ctx, func(ctx context.Context) error {
		var err error
		n, left, err = g.store.Incr(ctx, key, ttl)
		return err
	})
	return n, left, err
}

// Get implements Store.
func (g guarded) Get(ctx context.Context, key string) (n int64, left time.Duration, err error) {
	err = g.guard(ctx, func(ctx context.Context) error {
		var err error
		n, left, err = g.store.Get(ctx, key)
		return err
	})
	return n, left, err
}

// Set implements Store.
func (g guarded) Set(ctx context.Context, key string, n int64, ttl time.Duration) error {
	return g.guard(ctx, func(ctx context.Context) error { return g.store.Set(ctx, key, n, ttl) })
}

// Delete implements Store.
func (g guarded) Delete(ctx context.Context, key string) error {
	return g.guard(ctx, func(ctx context.Context) error { return g.store.Delete(ctx, key) })
}
