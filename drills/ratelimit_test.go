package drills

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Rate limit drill sizes.
const (
	rateLimit       = 100 // RATE_LIMIT_OBSERVER=100-M
	rateBurst       = 600 // requests of each measured burst
	rateWorkers     = 12
	rateRedisOutage = 10 * time.Second
)

// burstResult counts the answers of a burst.
type burstResult struct {
	status map[int]int
	// bad are answers outside the contract (a 429 without the error shape
	// or Retry-After, any other status), with samples.
	bad []string
	// slowest is the longest answer.
	slowest time.Duration
	// unenforced counts 200s without X-RateLimit-Limit: the limiter could
	// not reach its store and let the request through uncounted.
	unenforced int
}

// burst sends n copies of c over the balancer with workers at once.
func burst(ctx context.Context, lb *balancer, n, workers int, c call) burstResult {
	var mu sync.Mutex
	res := burstResult{status: map[int]int{}}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				a, err := lb.send(ctx, c)
				mu.Lock()
				res.record(a, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return res
}

func (r *burstResult) record(a answer, err error) {
	if err != nil {
		r.status[0]++
		r.bad = append(r.bad, err.Error())
		return
	}
	r.status[a.status]++
	r.slowest = max(r.slowest, a.at.Sub(a.sent))
	switch {
	case a.status == http.StatusOK:
		if a.header.Get("X-RateLimit-Limit") == "" {
			r.unenforced++
		}
	case a.status == http.StatusTooManyRequests && a.errorCode() == "rate_limit.exceeded" && a.header.Get("Retry-After") != "":
	default:
		if len(r.bad) < 20 {
			r.bad = append(r.bad, fmt.Sprintf("r%d: %d %s", a.node+1, a.status, a.body))
		}
	}
}

// breakerWatch polls GET /circuit-breakers on every replica and remembers
// the states of the "redis" breaker each one showed, in order.
type breakerWatch struct {
	mu     sync.Mutex
	states [][]string // per replica: distinct consecutive states
	opened []time.Time
	closed []time.Time
	errors int
}

// run polls until stop ends; requests use ctx, so none is cancelled
// midway.
func (w *breakerWatch) run(ctx, stop context.Context, lb *balancer, token string) {
	n := len(lb.urls)
	w.mu.Lock()
	w.states = make([][]string, n)
	w.opened = make([]time.Time, n)
	w.closed = make([]time.Time, n)
	w.mu.Unlock()
	for stop.Err() == nil {
		for i := range n {
			a, err := lb.sendTo(ctx, i, call{method: http.MethodGet, path: "/api/v1/circuit-breakers", token: token})
			var body struct {
				Breakers []struct {
					Name, State string
				}
			}
			w.mu.Lock()
			if err != nil || a.status != http.StatusOK || a.json(&body) != nil {
				w.errors++
				w.mu.Unlock()
				continue
			}
			for _, b := range body.Breakers {
				if b.Name != "redis" {
					continue
				}
				if s := w.states[i]; len(s) == 0 || s[len(s)-1] != b.State {
					w.states[i] = append(s, b.State)
					switch b.State {
					case "open":
						if w.opened[i].IsZero() {
							w.opened[i] = time.Now()
						}
					case "closed":
						if !w.opened[i].IsZero() {
							w.closed[i] = time.Now()
						}
					}
				}
			}
			w.mu.Unlock()
		}
		select {
		case <-stop.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// all reports whether every replica's redis breaker opened and then closed.
func (w *breakerWatch) recovered() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.states {
		if w.opened[i].IsZero() || w.closed[i].IsZero() {
			return false
		}
	}
	return len(w.states) > 0
}

// TestRateLimitDrill: a 100-per-minute per-role limit (observer) under load
// spread over three replicas lets exactly 100 through; then the Redis of the
// limits (one this drill runs) is stopped for 10 s: every replica keeps
// answering (fail open), its "redis" breaker opens and, once Redis is back,
// closes; and the limit is enforced again.
func TestRateLimitDrill(t *testing.T) {
	needDrills(t)
	fig := newFigures(t, "rate-limit")
	rs := newRedisServer(t)
	c := newCluster(t, clusterOptions{name: "ratelimit", redisURL: "redis://" + rs.addr() + "/0", env: map[string]string{
		"RATE_LIMIT_OBSERVER":  fmt.Sprintf("%d-M", rateLimit),
		"RATE_LIMIT_FAIL_MODE": "open",
		// A stopped Redis refuses connections at once; the longer timeout
		// only keeps a slow answer on a busy machine from letting a
		// request through uncounted (fail open) while Redis is up.
		"REDIS_CALL_TIMEOUT":          "1s",
		"BREAKER_FAILURE_THRESHOLD":   "3",
		"BREAKER_OPEN_TIMEOUT":        "1s",
		"BREAKER_HALF_OPEN_MAX_CALLS": "1",
	}})
	c.startAll()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lb := newBalancer(t, c.urls(), rateWorkers)
	observer, err := lb.login(ctx, "observer", "obs123")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := lb.login(ctx, "admin", "admin123")
	if err != nil {
		t.Fatal(err)
	}
	me := call{method: http.MethodGet, path: "/api/v1/auth/me", token: observer}

	fig.add("replicas", len(c.nodes))
	fig.add("limit under test", "RATE_LIMIT_OBSERVER=100-M, one observer token on every replica")

	// 1. The limit holds across replicas.
	began := time.Now()
	before := burst(ctx, lb, rateBurst, rateWorkers, me)
	fig.addf("burst before the outage", "%d requests in %s: %s", rateBurst, time.Since(began).Round(10*time.Millisecond), statuses(before.status))
	fig.check(t, "exactly 100 let through in the minute, the rest 429 (before the outage)",
		before.status[http.StatusOK] == rateLimit && before.unenforced == 0 && len(before.bad) == 0,
		"%d let through (%d uncounted), bad answers %v", before.status[http.StatusOK], before.unenforced, first(before.bad, 5))

	// 2. Redis stops for 10 s under load.
	watch := &breakerWatch{}
	watching, stopWatching := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		watch.run(ctx, watching, lb, admin)
	}()
	loading, stopLoad := context.WithCancel(ctx)
	var outageMu sync.Mutex
	outage := burstResult{status: map[int]int{}}
	var stoppedAt atomic.Int64 // UnixNano of the stop; answers to requests sent before it are not judged
	var loadWG sync.WaitGroup
	for range rateWorkers / 2 {
		loadWG.Add(1)
		go func() {
			defer loadWG.Done()
			for loading.Err() == nil {
				// ctx, not loading: a request in flight when the load
				// stops is answered, not cancelled.
				a, err := lb.send(ctx, me)
				if at := stoppedAt.Load(); at == 0 || a.sent.UnixNano() < at {
					continue
				}
				outageMu.Lock()
				outage.record(a, err)
				outageMu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	stopped := time.Now()
	stoppedAt.Store(stopped.UnixNano())
	rs.stop(syscall.SIGTERM)
	time.Sleep(rateRedisOutage - time.Since(stopped))
	stopLoad()
	loadWG.Wait()
	rs.start()
	restarted := time.Now()
	fig.addf("Redis outage", "%s (SIGTERM, restarted empty on the same port)", restarted.Sub(stopped).Round(10*time.Millisecond))
	fig.addf("answers to the observer during the outage", "%s (all let through uncounted: %d); slowest %s",
		statuses(outage.status), outage.unenforced, outage.slowest.Round(time.Millisecond))
	fig.check(t, "the service answers throughout the outage (fail open)",
		len(outage.bad) == 0 && outage.status[0] == 0 && outage.status[http.StatusOK] > 0,
		"%s, bad %v", statuses(outage.status), first(outage.bad, 5))

	// 3. The breakers close again: the watcher's own requests (admin, high
	// limit) are the trial calls.
	for !watch.recovered() && time.Since(restarted) < 30*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	stopWatching()
	<-watched
	watch.mu.Lock()
	var transitions []string
	allOpened, allClosed := true, true
	for i, s := range watch.states {
		line := fmt.Sprintf("r%d: %s", i+1, summarizeStates(s))
		if !watch.opened[i].IsZero() {
			line += fmt.Sprintf(" (open %s after the stop", watch.opened[i].Sub(stopped).Round(10*time.Millisecond))
			if !watch.closed[i].IsZero() {
				line += fmt.Sprintf(", closed %s after the restart", watch.closed[i].Sub(restarted).Round(10*time.Millisecond))
			}
			line += ")"
		}
		transitions = append(transitions, line)
		allOpened = allOpened && !watch.opened[i].IsZero() && watch.opened[i].Before(restarted)
		allClosed = allClosed && !watch.closed[i].IsZero()
	}
	watch.mu.Unlock()
	fig.add("redis breaker per replica", strings.Join(transitions, "; "))
	fig.check(t, "every replica's redis breaker opened during the outage", allOpened, "%v", transitions)
	fig.check(t, "every replica's redis breaker closed after Redis came back", allClosed, "%v", transitions)

	// 4. The limit is enforced again (Redis came back empty: a new window).
	began = time.Now()
	after := burst(ctx, lb, rateBurst, rateWorkers, me)
	fig.addf("burst after the outage", "%d requests in %s: %s", rateBurst, time.Since(began).Round(10*time.Millisecond), statuses(after.status))
	fig.check(t, "exactly 100 let through in the minute, the rest 429 (after the outage)",
		after.status[http.StatusOK] == rateLimit && after.unenforced == 0 && len(after.bad) == 0,
		"%d let through (%d uncounted), bad answers %v", after.status[http.StatusOK], after.unenforced, first(after.bad, 5))
	errs := c.errorLines()
	fig.check(t, "no ERROR in the replicas' logs", len(errs) == 0, "%d, first %v", len(errs), first(errs, 5))
}

// summarizeStates shortens a breaker's state history: the trial calls while
// Redis stays down repeat "half_open → open".
func summarizeStates(s []string) string {
	var out []string
	trials := 0
	for i, st := range s {
		switch {
		case st == "half_open" && i+1 < len(s) && s[i+1] == "open":
			trials++
		case st == "open" && i > 0 && s[i-1] == "half_open":
		default:
			if trials > 0 {
				out = append(out, fmt.Sprintf("(%d failed half-open trials)", trials))
				trials = 0
			}
			out = append(out, st)
		}
	}
	if trials > 0 {
		out = append(out, fmt.Sprintf("(%d failed half-open trials)", trials))
	}
	return strings.Join(out, " → ")
}
