package ratelimit_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/platform/redisconn"
	"github.com/golden-architecture/control-plane/services/errs"
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

// TestRedisConcurrentExact: many concurrent calls through two limiters (two
// replicas, whose calls each store combines into pipelines) on one Redis
// admit exactly the limit, and each admitted caller sees its own remaining
// count.
func TestRedisConcurrentExact(t *testing.T) {
	url := testRedisURL(t)
	prefix := fmt.Sprintf("test:rl:%d", time.Now().UnixNano())
	opts := testOptions(t)
	opts.Scopes[ratelimit.ScopeLogin] = ratelimit.Scope{Rate: mustRate(t, "50-M"), PerIP: true}
	opts.CallTimeout = 5 * time.Second // the shared machine may be slow; this test is about counts
	a, client := redisLimiter(t, url, prefix, opts)
	b, _ := redisLimiter(t, url, prefix, opts)
	key := prefix + ":login:ip:10.0.0.3"
	t.Cleanup(func() { client.Del(context.Background(), key) })

	const perLimiter = 100
	results := make(chan ratelimit.Result, 2*perLimiter)
	var wg sync.WaitGroup
	for _, l := range []*ratelimit.Limiter{a, b} {
		for range perLimiter {
			wg.Go(func() {
				got, err := l.Scope(context.Background(), ratelimit.ScopeLogin, ratelimit.IPKey("10.0.0.3"))
				if err != nil || !got.Enforced {
					t.Errorf("call = %+v, %v; want enforced", got, err)
				}
				results <- got
			})
		}
	}
	wg.Wait()
	close(results)
	var remaining []int64
	for r := range results {
		if !r.Reached {
			remaining = append(remaining, r.Remaining)
		}
	}
	slices.Sort(remaining)
	want := make([]int64, 50)
	for i := range want {
		want[i] = int64(i)
	}
	if !slices.Equal(remaining, want) {
		t.Errorf("remaining counts of the admitted calls = %v, want 0 to 49 each once", remaining)
	}
	if n, err := client.Get(context.Background(), key).Int(); err != nil || n != 2*perLimiter {
		t.Errorf("stored counter %s = %d, %v; want %d", key, n, err, 2*perLimiter)
	}
}

// TestRedisFailingAnswersEveryCaller: while Redis is down or hangs, every
// one of many concurrent callers (most of them waiting for a pipeline) gets
// the fail mode's answer: passed unenforced, or 503.
func TestRedisFailingAnswersEveryCaller(t *testing.T) {
	for _, mode := range []ratelimit.FailMode{ratelimit.FailOpen, ratelimit.FailClosed} {
		for _, outage := range []string{"down", "hangs"} {
			t.Run(string(mode)+"/"+outage, func(t *testing.T) {
				srv := testenv.NewRedisServer(t)
				opts := testOptions(t)
				opts.FailMode = mode
				l, _ := redisLimiter(t, srv.URL(), "rl", opts)
				if outage == "hangs" {
					srv.Start(t)
					waitEnforced(t, l)
					srv.Pause(t)
					t.Cleanup(func() { srv.Resume(t) })
				}
				const n = 64
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						got, err := l.Role(context.Background(), "admin", ratelimit.UserKey(fmt.Sprint("u", i)))
						switch mode {
						case ratelimit.FailOpen:
							if err != nil || got.Enforced || got.Reached {
								t.Errorf("call %d = %+v, %v; want passed unenforced", i, got, err)
							}
						case ratelimit.FailClosed:
							if !errs.Is(err, errs.CodeUnavailable) {
								t.Errorf("call %d: error = %v, want %s", i, err, errs.CodeUnavailable)
							}
						}
					})
				}
				wg.Wait()
				if !l.Degraded() {
					t.Error("not degraded")
				}
			})
		}
	}
}

// TestRedisScriptFlushed: when Redis forgets the script (SCRIPT FLUSH, a
// restart), the store sends it again and the counter goes on.
func TestRedisScriptFlushed(t *testing.T) {
	srv := testenv.NewRedisServer(t)
	srv.Start(t)
	l, client := redisLimiter(t, srv.URL(), "rl", testOptions(t))
	key := ratelimit.IPKey("10.0.0.4")
	for i := range 4 {
		if i == 2 {
			if err := client.ScriptFlush(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
		}
		got, err := l.Scope(context.Background(), ratelimit.ScopeHealth, key)
		if err != nil || !got.Enforced || got.Reached != (i == 3) || (i < 3 && got.Remaining != int64(2-i)) {
			t.Fatalf("request %d = %+v, %v; want enforced with %d remaining", i, got, err, 2-i)
		}
	}
}
