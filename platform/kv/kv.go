// Package kv is the small shared key/value store behind login lockout and
// token revocation: Redis when REDIS_URL is set (shared by every replica),
// process memory in embedded mode (one instance). The interface is kept small
// on purpose so a circuit breaker or metrics can wrap it.
package kv

import (
	"context"
	"time"
)

// Store keeps integer counters and markers that expire.
type Store interface {
	// Incr adds one to key and returns the new value and the time left before
	// it expires. A new key starts a window of ttl; later increments do not
	// extend it, so a fixed window ends ttl after its first increment.
	Incr(ctx context.Context, key string, ttl time.Duration) (n int64, left time.Duration, err error)
	// Get returns the value of key and its time left; a missing key is 0, 0.
	Get(ctx context.Context, key string) (n int64, left time.Duration, err error)
	// Set stores n under key for ttl, replacing any value.
	Set(ctx context.Context, key string, n int64, ttl time.Duration) error
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
}
