package kv_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/golden-architecture/control-plane/platform/kv"
)

// clock is a settable time source for the memory store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// stores returns the memory store and, with TEST_REDIS_URL, the Redis store,
// each with a way to let time pass (only the memory store has a fake clock).
func stores(t *testing.T) map[string]kv.Store {
	t.Helper()
	out := map[string]kv.Store{}
	c := &clock{t: time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)}
	out["memory"] = kv.NewMemory(c.now)
	out["guarded memory"] = kv.Guarded(kv.NewMemory(c.now), func(ctx context.Context, call func(context.Context) error) error {
		return call(ctx)
	})
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		opts, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		client := redis.NewClient(opts)
		t.Cleanup(func() { _ = client.Close() })
		out["redis"] = kv.NewRedis(client, "test:kv:"+t.Name()+":"+time.Now().Format(time.RFC3339Nano)+":", time.Second)
	}
	return out
}

func TestStoreCounters(t *testing.T) {
	ctx := context.Background()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			for i := int64(1); i <= 3; i++ {
				n, left, err := s.Incr(ctx, "c", time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				if n != i {
					t.Errorf("Incr #%d = %d, want %d", i, n, i)
				}
				if left <= 0 || left > time.Minute {
					t.Errorf("Incr #%d left = %s, want within (0, 1m]", i, left)
				}
			}
			n, left, err := s.Get(ctx, "c")
			if err != nil || n != 3 || left <= 0 {
				t.Errorf("Get = %d, %s, %v; want 3, >0, nil", n, left, err)
			}
			if err := s.Delete(ctx, "c"); err != nil {
				t.Fatal(err)
			}
			if n, left, err := s.Get(ctx, "c"); err != nil || n != 0 || left != 0 {
				t.Errorf("Get after Delete = %d, %s, %v; want 0, 0, nil", n, left, err)
			}
			if err := s.Delete(ctx, "missing"); err != nil {
				t.Errorf("Delete of a missing key: %v", err)
			}
			if err := s.Set(ctx, "m", 1, time.Minute); err != nil {
				t.Fatal(err)
			}
			if n, _, err := s.Get(ctx, "m"); err != nil || n != 1 {
				t.Errorf("Get after Set = %d, %v; want 1", n, err)
			}
		})
	}
}

func TestMemoryWindowExpires(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)}
	s := kv.NewMemory(c.now)
	if _, _, err := s.Incr(ctx, "c", time.Minute); err != nil {
		t.Fatal(err)
	}
	c.add(40 * time.Second)
	n, left, _ := s.Incr(ctx, "c", time.Minute)
	if n != 2 || left != 20*time.Second {
		t.Errorf("second Incr = %d, %s; want 2, 20s (the window is fixed by the first increment)", n, left)
	}
	c.add(20 * time.Second)
	if n, _, _ := s.Get(ctx, "c"); n != 0 {
		t.Errorf("Get at the window's end = %d, want 0", n)
	}
	n, left, _ = s.Incr(ctx, "c", time.Minute)
	if n != 1 || left != time.Minute {
		t.Errorf("Incr after expiry = %d, %s; want 1, 1m (a new window)", n, left)
	}
	_ = s.Set(ctx, "gone", 1, time.Second)
	c.add(2 * time.Second)
	s.Sweep()
	if got := s.Len(); got != 1 {
		t.Errorf("Len after Sweep = %d, want 1 (only the live counter)", got)
	}
}

func TestMemoryConcurrentIncr(t *testing.T) {
	s := kv.NewMemory(nil)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { _, _, _ = s.Incr(context.Background(), "c", time.Minute) })
	}
	wg.Wait()
	if n, _, _ := s.Get(context.Background(), "c"); n != 50 {
		t.Errorf("after 50 concurrent Incr: %d", n)
	}
}

func TestRedisUnavailable(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { _ = client.Close() })
	s := kv.NewRedis(client, "x:", 100*time.Millisecond)
	if _, _, err := s.Incr(context.Background(), "c", time.Minute); err == nil {
		t.Error("Incr on a dead Redis: want an error")
	}
	if _, _, err := s.Get(context.Background(), "c"); err == nil {
		t.Error("Get on a dead Redis: want an error")
	}
}

// TestGuardedRefusesWithoutCallingTheStore: a guard that refuses (an open
// breaker) answers every call with its error and the store sees none of them.
func TestGuardedRefusesWithoutCallingTheStore(t *testing.T) {
	ctx := context.Background()
	inner := kv.NewMemory(nil)
	refusal := errors.New("breaker open")
	refuse := true
	s := kv.Guarded(inner, func(ctx context.Context, call func(context.Context) error) error {
		if refuse {
			return refusal
		}
		return call(ctx)
	})
	calls := map[string]error{}
	_, _, calls["Incr"] = s.Incr(ctx, "k", time.Minute)
	_, _, calls["Get"] = s.Get(ctx, "k")
	calls["Set"] = s.Set(ctx, "k", 5, time.Minute)
	calls["Delete"] = s.Delete(ctx, "k")
	for name, err := range calls {
		if !errors.Is(err, refusal) {
			t.Errorf("%s = %v, want the guard's refusal", name, err)
		}
	}
	if n, _, _ := inner.Get(ctx, "k"); n != 0 {
		t.Errorf("the store holds %d, want nothing written through a refusing guard", n)
	}
	refuse = false
	if err := s.Set(ctx, "k", 5, time.Minute); err != nil {
		t.Fatal(err)
	}
	if n, _, err := s.Get(ctx, "k"); n != 5 || err != nil {
		t.Errorf("Get through an open guard = %d, %v; want 5", n, err)
	}
}
