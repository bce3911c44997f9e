package ratelimit_test

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/golden-architecture/control-plane/platform/redisconn"
	"github.com/golden-architecture/control-plane/services/ratelimit"
)

// benchRedisURL is TEST_REDIS_URL, else a local Redis on 6379 when it
// answers, else "".
func benchRedisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	const local = "redis://127.0.0.1:6379/0"
	opts, _ := redis.ParseURL(local)
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if c.Ping(ctx).Err() != nil {
		return ""
	}
	return local
}

// BenchmarkLimiter is the cost of counting one request: with the memory
// store, with Redis, and a bare Redis INCR round trip for comparison. Each
// iteration counts against one key with a limit it never reaches.
func BenchmarkLimiter(b *testing.B) {
	opts := testOptions(b)
	opts.Roles["admin"] = mustRate(b, "1000000000-M")
	ctx := context.Background()
	key := ratelimit.UserKey("bench")

	b.Run("memory", func(b *testing.B) {
		l := newLimiter(b, ratelimit.NewMemoryStore("bench"), opts)
		for b.Loop() {
			if _, err := l.Role(ctx, "admin", key); err != nil {
				b.Fatal(err)
			}
		}
	})
	url := benchRedisURL()
	if url == "" {
		b.Log("no Redis (TEST_REDIS_URL unset and nothing on 127.0.0.1:6379): Redis benchmarks skipped")
		return
	}
	prefix := "bench:rl:" + time.Now().Format("150405.000000")
	b.Run("redis", func(b *testing.B) {
		l, client := redisLimiter(b, url, prefix, opts)
		b.Cleanup(func() { client.Del(context.Background(), prefix+":admin:"+key) })
		if _, err := l.Role(ctx, "admin", key); err != nil { // load the script
			b.Fatal(err)
		}
		for b.Loop() {
			got, err := l.Role(ctx, "admin", key)
			if err != nil || !got.Enforced {
				b.Fatalf("%+v, %v", got, err)
			}
		}
	})
	// 32 concurrent callers, as the load tool's workers: the store combines
	// the calls that wait into one pipeline.
	b.Run("redis_parallel", func(b *testing.B) {
		l, client := redisLimiter(b, url, prefix+"p", opts)
		b.Cleanup(func() { client.Del(context.Background(), prefix+"p:admin:"+key) })
		b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				got, err := l.Role(ctx, "admin", key)
				if err != nil || !got.Enforced {
					b.Errorf("%+v, %v", got, err)
					return
				}
			}
		})
	})
	b.Run("redis_incr", func(b *testing.B) {
		client, err := redisconn.NewBounded(url, 250*time.Millisecond)
		if err != nil {
			b.Fatal(err)
		}
		defer client.Close()
		k := prefix + ":incr"
		b.Cleanup(func() { client.Del(context.Background(), k) })
		for b.Loop() {
			if err := client.Incr(ctx, k).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
