package ratelimit_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/platform/redisconn"
	"github.com/golden-architecture/control-plane/services/ratelimit"
)

// testRedisURL is TEST_REDIS_URL, or the test is skipped.
func testRedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		t.Skip("TEST_REDIS_URL is not set; skipping the shared-Redis test")
	}
	return u
}

func redisLimiter(t testing.TB, url, prefix string, opts ratelimit.Options) (*ratelimit.Limiter, *redis.Client) {
	t.Helper()
	client, err := redisconn.NewBounded(url, 250*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return newLimiter(t, ratelimit.NewRedisStore(client, prefix), opts), client
}

// TestRedisShared: two limiters (two replicas) on one Redis enforce one limit,
// and the counter is stored under "<prefix>:<scope>:<key>".
func TestRedisShared(t *testing.T) {
	url := testRedisURL(t)
	prefix := fmt.Sprintf("test:rl:%d", time.Now().UnixNano())
	opts := testOptions(t)
	opts.Scopes[ratelimit.ScopeLogin] = ratelimit.Scope{Rate: mustRate(t, "5-M"), PerIP: true}
	a, client := redisLimiter(t, url, prefix, opts)
	b, _ := redisLimiter(t, url, prefix, opts)
	key := prefix + ":login:ip:10.0.0.1"
	t.Cleanup(func() { client.Del(context.Background(), key) })

	allowed := 0
	for i := range 10 {
		l := a
		if i%2 == 1 {
			l = b
		}
		got, err := l.Scope(context.Background(), ratelimit.ScopeLogin, ratelimit.IPKey("10.0.0.1"))
		if err != nil || !got.Enforced {
			t.Fatalf("request %d = %+v, %v", i, got, err)
		}
		if !got.Reached {
			allowed++
		}
	}
	if allowed != 5 {
		t.Errorf("allowed %d of 10 across two limiters, want 5", allowed)
	}
	n, err := client.Get(context.Background(), key).Int()
	if err != nil || n != 10 {
		t.Errorf("stored counter %s = %d, %v; want 10", key, n, err)
	}
	ttl := client.PTTL(context.Background(), key).Val()
	if ttl <= 0 || ttl > time.Minute {
		t.Errorf("counter TTL = %v, want within the 1-minute window", ttl)
	}
}

// TestRedisOutage: a limiter built while Redis is down starts degraded, is
// enforced once Redis starts, degrades when it is killed and is enforced
// again when it restarts on the same port (with its Lua script reloaded).
func TestRedisOutage(t *testing.T) {
	srv := testenv.NewRedisServer(t)
	opts := testOptions(t)
	l, _ := redisLimiter(t, srv.URL(), "rl", opts)
	ctx := context.Background()
	key := ratelimit.IPKey("10.0.0.2")

	takeN := func(n int) []ratelimit.Result {
		t.Helper()
		var out []ratelimit.Result
		for range n {
			got, err := l.Scope(ctx, ratelimit.ScopeHealth, key)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, got)
		}
		return out
	}
	wantEnforced := func(phase string) {
		t.Helper()
		got := takeN(4)
		for i, r := range got {
			if !r.Enforced || r.Reached != (i == 3) {
				t.Fatalf("%s: request %d = %+v; want enforced, reached only on the 4th", phase, i, r)
			}
		}
		if l.Degraded() {
			t.Errorf("%s: still degraded", phase)
		}
	}
	wantOpen := func(phase string) {
		t.Helper()
		start := time.Now()
		for i, r := range takeN(5) {
			if r.Enforced || r.Reached {
				t.Fatalf("%s: request %d = %+v; want passed unenforced", phase, i, r)
			}
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s: 5 requests took %v while Redis was down", phase, took)
		}
		if !l.Degraded() {
			t.Errorf("%s: not degraded", phase)
		}
	}

	wantOpen("before redis started")
	srv.Start(t)
	waitEnforced(t, l)
	wantEnforced("after redis started")
	srv.Stop()
	wantOpen("after redis was killed")
	srv.Start(t)
	waitEnforced(t, l)
	wantEnforced("after redis restarted")
}

// waitEnforced polls a throwaway key until the limiter reaches Redis again
// (the client's pool retries dialing about once a second).
func waitEnforced(t testing.TB, l *ratelimit.Limiter) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := l.Role(context.Background(), "admin", ratelimit.UserKey("probe"))
		if err == nil && got.Enforced {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("limits not enforced 10s after Redis came back: %+v, %v", got, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
