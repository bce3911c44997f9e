package kv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the Store shared by every replica. Keys are prefixed (REDIS_KEY_PREFIX)
// and every call is bounded by a timeout (REDIS_CALL_TIMEOUT), so a slow Redis
// costs a request at most that long.
type Redis struct {
	client  redis.UniversalClient
	prefix  string
	timeout time.Duration
}

// NewRedis returns a Store on client.
func NewRedis(client redis.UniversalClient, prefix string, timeout time.Duration) *Redis {
	return &Redis{client: client, prefix: prefix, timeout: timeout}
}

// incrScript increments and starts the window on the first increment only;
// one script, so the increment and the expiry are atomic. A key left without
// an expiry (PTTL -1) gets one too, so a counter can never live forever.
var incrScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {n, left}
`)

func (r *Redis) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.timeout)
}

// Incr implements Store.
func (r *Redis) Incr(ctx context.Context, key string, ttl time.Duration) (int64, time.Duration, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	res, err := incrScript.Run(ctx, r.client, []string{r.prefix + key}, ttl.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("redis incr: %w", err)
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("redis incr: unexpected reply %v", res)
	}
	return res[0], time.Duration(res[1]) * time.Millisecond, nil
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, key string) (int64, time.Duration, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	pipe := r.client.Pipeline()
	get := pipe.Get(ctx, r.prefix+key)
	ttl := pipe.PTTL(ctx, r.prefix+key)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, 0, fmt.Errorf("redis get: %w", err)
	}
	n, err := get.Int64()
	if errors.Is(err, redis.Nil) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("redis get: %w", err)
	}
	left := ttl.Val()
	if left < 0 {
		left = 0
	}
	return n, left, nil
}

// Set implements Store.
func (r *Redis) Set(ctx context.Context, key string, n int64, ttl time.Duration) error {
	ctx, cancel := r.call(ctx)
	defer cancel()
	if err := r.client.Set(ctx, r.prefix+key, n, ttl).Err(); err != nil {
		return fmt.Errorf("redis set: %w", err)
	}
	return nil
}

// Delete implements Store.
func (r *Redis) Delete(ctx context.Context, key string) error {
	ctx, cancel := r.call(ctx)
	defer cancel()
	if err := r.client.Del(ctx, r.prefix+key).Err(); err != nil {
		return fmt.Errorf("redis del: %w", err)
	}
	return nil
}

var _ Store = (*Redis)(nil)
