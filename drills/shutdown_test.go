package drills

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Shutdown drill sizes.
const (
	shutdownWorkers = 16
	// shutdownUploaders send their bodies slowly (over ~1.3 s) to the
	// replica that is stopped, so that some requests are always half
	// received when SIGTERM arrives.
	shutdownUploaders = 4
	// shutdownBefore and shutdownAfter are the load before SIGTERM and
	// after the replica has exited.
	shutdownBefore = 4 * time.Second
	shutdownAfter  = 3 * time.Second
	// shutdownTenant is the operator's tenant (DEFAULT_TENANT): a
	// tenant-bound principal spends only there.
	shutdownTenant = "default"
)

// TestShutdownDrill sends SIGTERM to one of three replicas under load. The
// balancer retries refused connections only, so every request the stopping
// replica accepted must be answered by it, and answered well: no request
// fails, the replica exits 0 within SHUTDOWN_TIMEOUT.
func TestShutdownDrill(t *testing.T) {
	needDrills(t)
	fig := newFigures(t, "shutdown")
	c := newCluster(t, clusterOptions{name: "shutdown", redisDB: 13})
	c.startAll()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lb := newBalancer(t, c.urls(), shutdownWorkers)
	admin, err := lb.login(ctx, "admin", "admin123")
	if err != nil {
		t.Fatal(err)
	}
	operator, err := lb.login(ctx, "operator", "operator123")
	if err != nil {
		t.Fatal(err)
	}
	a, err := lb.send(ctx, call{method: http.MethodPut, path: "/api/v1/budget/limits", token: admin,
		body: map[string]any{"tenant_id": shutdownTenant, "project_id": "shutdown", "total_limit": 1_000_000_000_000}})
	if err != nil || a.status != http.StatusOK {
		t.Fatalf("set limit: %v %d %s", err, a.status, a.body)
	}

	// Requests of three kinds, all idempotent (GET, or POST with an
	// Idempotency-Key), as a load balancer may replay them.
	var seq atomic.Int64
	makeCall := func(rng *rand.Rand) call {
		switch rng.IntN(3) {
		case 0:
			return call{method: http.MethodGet, path: "/api/v1/auth/me", token: operator}
		case 1:
			return call{method: http.MethodGet, path: "/api/v1/budget/state?tenant_id=" + shutdownTenant + "&project_id=shutdown", token: operator}
		default:
			n := seq.Add(1)
			key := fmt.Sprintf("shutdown-%d", n)
			return call{method: http.MethodPost, path: "/api/v1/budget/request", token: operator,
				header: map[string]string{"Idempotency-Key": key},
				body: map[string]any{"tenant_id": shutdownTenant, "project_id": "shutdown", "task_id": key, "model": "m",
					"estimated_tokens": 1 + rng.IntN(100)}}
		}
	}

	slowUpload := func(rng *rand.Rand) call {
		n := seq.Add(1)
		key := fmt.Sprintf("shutdown-slow-%d", n)
		body := fmt.Sprintf(`{"tenant_id":%q,"project_id":"shutdown","task_id":%q,"model":"m","estimated_tokens":%d}`,
			shutdownTenant, key, 1+rng.IntN(100))
		return call{method: http.MethodPost, path: "/api/v1/budget/request", token: operator,
			header: map[string]string{"Idempotency-Key": key},
			stream: func() io.Reader { return &trickle{data: []byte(body), chunk: 8, pause: 100 * time.Millisecond} }}
	}

	const victim = 1
	var (
		mu         sync.Mutex
		byStatus   = map[int]int{}
		failures   []string
		total      int
		termAt     time.Time
		byVictim   int // answered by the stopping replica after SIGTERM
		inFlight   int // ...of requests it had before SIGTERM
		slowestEnd time.Duration
	)
	loading, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range shutdownWorkers + shutdownUploaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(start.UnixNano()), uint64(w)))
			send := func() (answer, error) { return lb.send(ctx, makeCall(rng)) }
			if w >= shutdownWorkers {
				// Uploads start at the replica that will be stopped (and
				// move on when it refuses), so some are always half
				// received when the signal comes.
				send = func() (answer, error) { return lb.sendFrom(ctx, victim, slowUpload(rng)) }
			}
			for loading.Err() == nil {
				a, err := send()
				mu.Lock()
				total++
				switch {
				case err != nil:
					failures = append(failures, fmt.Sprintf("r%d: %v", a.node+1, err))
				default:
					byStatus[a.status]++
					if a.status != http.StatusOK {
						failures = append(failures, fmt.Sprintf("r%d: %d %s", a.node+1, a.status, a.body))
					}
					if !termAt.IsZero() && a.node == victim && a.at.After(termAt) {
						byVictim++
						if a.sent.Before(termAt) {
							inFlight++
							slowestEnd = max(slowestEnd, a.at.Sub(termAt))
						}
					}
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(shutdownBefore)
	p := c.nodes[victim].Proc()
	mu.Lock()
	termAt = time.Now()
	mu.Unlock()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(20 * time.Second):
		t.Errorf("replica r%d still runs 20s after SIGTERM", victim+1)
	}
	exitTook := time.Since(termAt)
	time.Sleep(shutdownAfter)
	stopLoad()
	wg.Wait()
	loadTook := time.Since(start)

	mu.Lock()
	defer mu.Unlock()
	fig.add("replicas", len(c.nodes))
	fig.addf("load", "%d requests in %s by %d workers (GET /auth/me, GET /budget/state, POST /budget/request with Idempotency-Key) and %d slow uploaders (a POST /budget/request body sent over ~1.3 s, to the replica that is stopped)",
		total, loadTook.Round(100*time.Millisecond), shutdownWorkers, shutdownUploaders)
	fig.addf("SIGTERM", "replica r%d after %s; it exited with code %d %s later", victim+1, shutdownBefore, p.ExitCode(),
		exitTook.Round(time.Millisecond))
	fig.addf("answered by the stopping replica after SIGTERM", "%d (%d of them sent before it; the last one %s after the signal)",
		byVictim, inFlight, slowestEnd.Round(time.Millisecond))
	fig.add("connection refusals retried on another replica", lb.refused.Load())
	fig.add("requests sent twice by the HTTP transport (idle connection closed before it was read)", lb.replayed.Load())
	fig.add("sends written to the stopping replica that it never answered", lb.lost.Load())
	fig.add("answers by status", statuses(byStatus))
	fig.check(t, "no request failed", len(failures) == 0, "%d, first %v", len(failures), first(failures, 5))
	fig.check(t, "the replica exited 0 after SIGTERM", p.ExitCode() == 0, "exit code %d", p.ExitCode())
	errs := c.errorLines()
	fig.check(t, "no ERROR in the replicas' logs", len(errs) == 0, "%d, first %v", len(errs), first(errs, 5))
}

// trickle is a request body that arrives chunk bytes at a time, pause apart.
type trickle struct {
	data  []byte
	chunk int
	pause time.Duration
}

// Read implements io.Reader.
func (r *trickle) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.pause)
	n := copy(p[:min(len(p), r.chunk)], r.data)
	r.data = r.data[n:]
	return n, nil
}
