package ratelimit

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/golden-architecture/control-plane/platform/redisconn"
)

// pipelineHook records the size of every pipeline of the store's script and
// holds the first one until release is closed.
type pipelineHook struct {
	mu      sync.Mutex
	sizes   []int
	release chan struct{}
}

func (h *pipelineHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *pipelineHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *pipelineHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) == 0 || cmds[0].Name() != "evalsha" {
			return next(ctx, cmds) // a new connection's handshake
		}
		h.mu.Lock()
		h.sizes = append(h.sizes, len(cmds))
		first := len(h.sizes) == 1
		h.mu.Unlock()
		if first {
			<-h.release
		}
		return next(ctx, cmds)
	}
}

// TestRedisStoreCombinesWaitingCalls: the calls that arrive while a pipeline
// is in flight go out together in the next one, and each caller gets its own
// count: 1 to n, each once.
func TestRedisStoreCombinesWaitingCalls(t *testing.T) {
	client, hook, prefix := hookedClient(t)
	store := NewRedisStore(client, prefix).(*redisStore)
	rate := Rate{Limit: 1000, Period: time.Minute}

	const n = 100
	counts := make(chan int64, n)
	var wg sync.WaitGroup
	get := func() {
		defer wg.Done()
		// No deadline: the first call waits for the test to release it.
		lc, err := store.Get(context.Background(), "admin:u:1", rate)
		if err != nil {
			t.Error(err)
			return
		}
		counts <- rate.Limit - lc.Remaining
	}
	wg.Add(1)
	go get()
	waitFor(t, "the first pipeline to be sent", func() bool {
		hook.mu.Lock()
		defer hook.mu.Unlock()
		return len(hook.sizes) == 1
	})
	for range n - 1 {
		wg.Add(1)
		go get()
	}
	waitFor(t, "the other calls to wait", func() bool {
		store.mu.Lock()
		defer store.mu.Unlock()
		return len(store.queue) == n-1
	})
	close(hook.release)
	wg.Wait()
	close(counts)

	var got []int64
	for c := range counts {
		got = append(got, c)
	}
	slices.Sort(got)
	for i, c := range got {
		if c != int64(i+1) {
			t.Fatalf("counts seen by the callers = %v, want 1 to %d each once", got, n)
		}
	}
	if len(got) != n {
		t.Fatalf("%d callers answered, want %d", len(got), n)
	}
	if want := []int{1, n - 1}; !slices.Equal(hook.sizes, want) {
		t.Errorf("pipeline sizes = %v, want %v", hook.sizes, want)
	}
}

// TestRedisStoreBoundsPipelines: no pipeline carries more than maxPipeline
// calls; the rest go in the next.
func TestRedisStoreBoundsPipelines(t *testing.T) {
	client, hook, prefix := hookedClient(t)
	store := NewRedisStore(client, prefix).(*redisStore)
	rate := Rate{Limit: 1000, Period: time.Minute}

	n := 2*maxPipeline + 10
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := store.Get(context.Background(), "admin:u:2", rate); err != nil {
				t.Error(err)
			}
		}()
		if i == 0 {
			waitFor(t, "the first pipeline to be sent", func() bool {
				hook.mu.Lock()
				defer hook.mu.Unlock()
				return len(hook.sizes) == 1
			})
		}
	}
	waitFor(t, "the other calls to wait", func() bool {
		store.mu.Lock()
		defer store.mu.Unlock()
		return len(store.queue) == n-1
	})
	close(hook.release)
	wg.Wait()
	if want := []int{1, maxPipeline, maxPipeline, n - 1 - 2*maxPipeline}; !slices.Equal(hook.sizes, want) {
		t.Errorf("pipeline sizes = %v, want %v", hook.sizes, want)
	}
	if got, err := client.Get(context.Background(), prefix+":admin:u:2").Int(); err != nil || got != n {
		t.Errorf("stored counter = %d, %v; want %d", got, err, n)
	}
}

var _ redis.Hook = (*pipelineHook)(nil)

// hookedClient is a client of TEST_REDIS_URL (the test is skipped without
// it) with a pipelineHook, and a key prefix of the test's own. (testenv's
// Redis server cannot be used here: testenv imports this package.)
func hookedClient(t *testing.T) (*redis.Client, *pipelineHook, string) {
	t.Helper()
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		t.Skip("TEST_REDIS_URL is not set; skipping the shared-Redis test")
	}
	client, err := redisconn.NewBounded(url, 250*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("test:rlpipe:%d", time.Now().UnixNano())
	t.Cleanup(func() {
		keys, _ := client.Keys(context.Background(), prefix+":*").Result()
		if len(keys) > 0 {
			client.Del(context.Background(), keys...)
		}
		_ = client.Close()
	})
	hook := &pipelineHook{release: make(chan struct{})}
	client.AddHook(hook)
	return client, hook, prefix
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
