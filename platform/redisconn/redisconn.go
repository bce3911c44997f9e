// Package redisconn builds the process's Redis clients from redis:// URLs:
// the shared one of REDIS_URL (login lockout, token revocation, breaker
// resets, health) and the rate limiter's own, whose every step is bounded by
// a short timeout. Clients connect lazily; callers ping when they need to.
package redisconn

import (
	"time"

	"github.com/redis/go-redis/v9"
)

// dialTimeout bounds a connection attempt of the shared client.
const dialTimeout = 2 * time.Second

// New returns the shared client of url.
func New(url string) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	opts.DialTimeout = dialTimeout
	return redis.NewClient(opts), nil
}

// NewBounded returns a client of url whose every network step is bounded by
// callTimeout and which honours the context deadline, so a Redis that hangs
// costs at most callTimeout per call. It dials once per attempt and retries
// once (a connection that broke when Redis restarted); the per-call deadline
// bounds the whole call anyway.
func NewBounded(url string, callTimeout time.Duration) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	opts.DialTimeout = callTimeout
	opts.ReadTimeout = callTimeout
	opts.WriteTimeout = callTimeout
	opts.PoolTimeout = callTimeout
	opts.ContextTimeoutEnabled = true
	opts.DialerRetries = 1
	opts.MaxRetries = 1
	return redis.NewClient(opts), nil
}
