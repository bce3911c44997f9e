package ratelimit

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
	redisstore "github.com/ulule/limiter/v3/drivers/store/redis"
)

// Store counts one request for key in the window of rate and returns the
// counter's state. ulule/limiter's stores satisfy it.
type Store interface {
	Get(ctx context.Context, key string, rate Rate) (limiter.Context, error)
}

// Guard runs one store call. It is the hook for a circuit breaker, which may
// refuse the call at once (returning an error) instead of letting every
// request wait for a store that is down.
type Guard func(ctx context.Context, call func(ctx context.Context) error) error

// PassThrough is the Guard that simply makes the call.
func PassThrough(ctx context.Context, call func(ctx context.Context) error) error {
	return call(ctx)
}

// NewMemoryStore returns the in-process store of embedded mode: exact for one
// instance, not shared between replicas.
func NewMemoryStore(prefix string) Store {
	return memory.NewStoreWithOptions(limiter.StoreOptions{
		Prefix: prefix, CleanUpInterval: limiter.DefaultCleanUpInterval,
	})
}

// NewRedisStore returns a store shared by every replica using client (built
// with redisconn.NewBounded, so a down Redis costs one call timeout). Keys
// are "<prefix>:<scope>:<key>". ulule's Redis store loads its Lua script when
// built, which fails while Redis is down, so the store is built on the first
// call that finds Redis answering: the service starts during an outage and
// enforces limits as soon as Redis is back.
func NewRedisStore(client *redis.Client, prefix string) Store {
	return &lazyRedisStore{client: client, prefix: prefix, building: make(chan struct{}, 1)}
}

type lazyRedisStore struct {
	client *redis.Client
	prefix string

	// building holds one token: whoever takes it builds the store; others
	// wait for it no longer than their call deadline.
	building chan struct{}
	store    atomic.Pointer[builtStore]
}

type builtStore struct{ limiter.Store }

// Get implements Store.
func (s *lazyRedisStore) Get(ctx context.Context, key string, rate Rate) (limiter.Context, error) {
	store, err := s.built(ctx)
	if err != nil {
		return limiter.Context{}, err
	}
	return store.Get(ctx, key, rate)
}

func (s *lazyRedisStore) built(ctx context.Context) (limiter.Store, error) {
	if b := s.store.Load(); b != nil {
		return b.Store, nil
	}
	select {
	case s.building <- struct{}{}:
		defer func() { <-s.building }()
	case <-ctx.Done():
		return nil, fmt.Errorf("redis rate limit store: %w", ctx.Err())
	}
	if b := s.store.Load(); b != nil {
		return b.Store, nil
	}
	// ulule loads its scripts with context.Background(); check first with
	// the caller's deadline so a down Redis fails within the call timeout.
	if err := s.client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis rate limit store: %w", err)
	}
	store, err := redisstore.NewStoreWithOptions(s.client, limiter.StoreOptions{Prefix: s.prefix})
	if err != nil {
		return nil, fmt.Errorf("redis rate limit store: %w", err)
	}
	s.store.Store(&builtStore{store})
	return store, nil
}
