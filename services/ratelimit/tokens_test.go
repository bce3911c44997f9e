package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/ratelimit"
)

// tokenStores are the stores every token test runs on: memory, and Redis
// when TEST_REDIS_URL is set.
func tokenStores(t *testing.T) map[string]func(t *testing.T) ratelimit.TokenStore {
	stores := map[string]func(t *testing.T) ratelimit.TokenStore{
		"memory": func(*testing.T) ratelimit.TokenStore { return ratelimit.NewMemoryTokenStore(nil) },
	}
	stores["redis"] = func(t *testing.T) ratelimit.TokenStore {
		url := testRedisURL(t)
		prefix := fmt.Sprintf("test:tpm:%d", time.Now().UnixNano())
		// A plain client, without the service's short call timeouts: on a
		// busy machine a timed-out call would pass unenforced (fail open).
		opts, err := redis.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		client := redis.NewClient(opts)
		t.Cleanup(func() {
			keys, _ := client.Keys(context.Background(), prefix+":*").Result()
			if len(keys) > 0 {
				client.Del(context.Background(), keys...)
			}
			_ = client.Close()
		})
		return ratelimit.NewRedisTokenStore(client, prefix)
	}
	return stores
}

func newTokens(t *testing.T, store ratelimit.TokenStore, reg prometheus.Registerer) *ratelimit.Tokens {
	t.Helper()
	o := ratelimit.TokensOptions{CallTimeout: 30 * time.Second}
	if reg != nil {
		o.Metrics = ratelimit.NewMetrics(reg, ratelimit.ScopeTokensPerMinute)
	}
	l, err := ratelimit.NewTokens(store, o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestTokensWindow: with 1,000 tokens a minute, calls whose worst case fits
// are admitted and charged; the one that does not fit is refused with the
// time left in the window and charges nothing; giving back the unused part
// of a call lets the next one in; a key's window is its own.
func TestTokensWindow(t *testing.T) {
	for name, open := range tokenStores(t) {
		t.Run(name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			l := newTokens(t, open(t), reg)
			ctx := context.Background()
			take := func(key string, n int64) ratelimit.TokenGrant {
				t.Helper()
				g, err := l.Take(ctx, key, 1000, n)
				if err != nil || !g.Enforced {
					t.Fatalf("Take(%s, %d) = %+v, %v", key, n, g, err)
				}
				return g
			}
			first := take("key:a", 400)
			second := take("key:a", 400)
			if !first.Admitted || !second.Admitted || second.Remaining != 200 || second.Limit != 1000 {
				t.Fatalf("two calls of 400: %+v, %+v; want both admitted, 200 left", first, second)
			}
			over := take("key:a", 300)
			if over.Admitted || over.Remaining != 200 {
				t.Fatalf("a call of 300 with 200 left = %+v; want refused, 200 left", over)
			}
			if over.RetryAfter <= 0 || over.RetryAfter > ratelimit.TokenWindow {
				t.Errorf("refusal RetryAfter = %v, want within the minute", over.RetryAfter)
			}
			// The refusal charged nothing: 200 still fit.
			if g := take("key:a", 200); !g.Admitted || g.Remaining != 0 {
				t.Fatalf("a call of 200 after the refusal = %+v; want admitted, 0 left", g)
			}
			// The first call used 150 of its 400: 250 come back.
			if err := l.Settle(ctx, first, 150); err != nil {
				t.Fatal(err)
			}
			if g := take("key:a", 250); !g.Admitted || g.Remaining != 0 {
				t.Fatalf("a call of 250 after 250 came back = %+v; want admitted, 0 left", g)
			}
			// A call that used more than its worst case is charged the rest.
			if err := l.Settle(ctx, second, 450); err != nil {
				t.Fatal(err)
			}
			if g := take("key:a", 1); g.Admitted {
				t.Fatalf("window over its limit admitted %+v", g)
			}
			if g := take("key:b", 1000); !g.Admitted {
				t.Errorf("another key's first call = %+v; want admitted", g)
			}
			if got := counterSum(t, reg, "rate_limit_exceeded_total"); got != 2 {
				t.Errorf("rate_limit_exceeded_total = %v, want 2", got)
			}
		})
	}
}

// TestTokensConcurrent: 50 concurrent calls of 100 against 1,000 on two
// limiters sharing a store (two replicas): exactly 10 are admitted.
func TestTokensConcurrent(t *testing.T) {
	for name, open := range tokenStores(t) {
		t.Run(name, func(t *testing.T) {
			store := open(t)
			a, b := newTokens(t, store, nil), newTokens(t, store, nil)
			var admitted atomic.Int64
			var wg sync.WaitGroup
			for i := range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					l := []*ratelimit.Tokens{a, b}[i%2]
					g, err := l.Take(context.Background(), "key:hot", 1000, 100)
					if err != nil || !g.Enforced {
						t.Errorf("Take = %+v, %v; want an enforced answer", g, err)
						return
					}
					if g.Admitted {
						admitted.Add(1)
					}
				}()
			}
			wg.Wait()
			if got := admitted.Load(); got != 10 {
				t.Errorf("admitted %d of 50 calls of 100 within 1,000, want 10", got)
			}
		})
	}
}

// TestTokensWindowEnds: a new window starts empty when the last one ended,
// and a correction that arrives after its window ended changes nothing.
func TestTokensWindowEnds(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	l := newTokens(t, ratelimit.NewMemoryTokenStore(clock), nil)
	ctx := context.Background()
	g, _ := l.Take(ctx, "key:a", 1000, 1000)
	if over, _ := l.Take(ctx, "key:a", 1000, 1); over.Admitted || over.RetryAfter != time.Minute {
		t.Fatalf("full window = %+v, want refused with a minute left", over)
	}
	now = now.Add(time.Minute)
	fresh, _ := l.Take(ctx, "key:a", 1000, 600)
	if !fresh.Admitted || fresh.Remaining != 400 {
		t.Fatalf("first call of the next window = %+v, want admitted with 400 left", fresh)
	}
	if err := l.Settle(ctx, g, 0); err != nil { // the old window's give-back
		t.Fatal(err)
	}
	if over, _ := l.Take(ctx, "key:a", 1000, 401); over.Admitted {
		t.Errorf("a correction of an ended window freed tokens in the next: %+v", over)
	}
}

// TestTokensStoreDown: a failing store passes calls unlimited (fail open,
// nothing to settle) or refuses them with 503 (fail closed).
func TestTokensStoreDown(t *testing.T) {
	down := failingTokens{err: errors.New("connection refused")}
	open := newTokens(t, down, nil)
	g, err := open.Take(context.Background(), "key:a", 10, 1000)
	if err != nil || !g.Admitted || g.Enforced {
		t.Fatalf("fail open = %+v, %v; want admitted, not enforced", g, err)
	}
	if err := open.Settle(context.Background(), g, 5); err != nil {
		t.Errorf("settling an unenforced grant = %v, want nothing done", err)
	}
	closed, err := ratelimit.NewTokens(down, ratelimit.TokensOptions{FailMode: ratelimit.FailClosed})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := closed.Take(context.Background(), "key:a", 10, 1); !errs.Is(err, errs.CodeUnavailable) {
		t.Errorf("fail closed = %v, want %s", err, errs.CodeUnavailable)
	}
}

type failingTokens struct{ err error }

func (f failingTokens) Take(context.Context, string, int64, int64, time.Duration, string) (ratelimit.TokenCount, error) {
	return ratelimit.TokenCount{}, f.err
}

func (f failingTokens) Adjust(context.Context, string, string, int64) error { return f.err }
