package ratelimit

import (
	"context"

	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
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
