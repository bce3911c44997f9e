package drills

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

// Bad input drill sizes.
const (
	badRequests = 10_000
	badWarmup   = 1_000
	badWorkers  = 16
	// badRSSSlackKB is how far above its post-warmup baseline a replica's
	// resident memory may be once the runtime has settled.
	badRSSSlackKB = 30 * 1024
)

// errorStatus is DESIGN §4's table: the status each error code must have.
var errorStatus = map[string]int{
	"validation.invalid_request": 400, "auth.unauthorized": 401, "auth.invalid_credentials": 401,
	"auth.forbidden": 403, "resource.not_found": 404, "request.method_not_allowed": 405,
	"state.conflict": 409, "budget.insufficient": 409, "idempotency.conflict": 409, "dlq.already_resolved": 409,
	"request.too_large": 413, "validation.unprocessable_entity": 422, "rate_limit.exceeded": 429,
	"internal.error": 500, "service.unavailable": 503,
}

var wellFormedRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// badStats judges and counts the answers.
type badStats struct {
	mu         sync.Mutex
	byCategory map[string]map[int]int
	// documented2xx counts the 2xx answers of requests that were valid by
	// accident, by case.
	documented2xx map[string]int
	// protocol counts plain-text rejections written by Go's HTTP server
	// before the request reaches the router (malformed HTTP).
	protocol map[string]int
	// violations counts the broken contracts by kind, with one example
	// of each.
	violations   map[string]int
	examples     map[string]string
	violationN   int
	requestCount int
}

func newBadStats() *badStats {
	return &badStats{byCategory: map[string]map[int]int{}, documented2xx: map[string]int{}, protocol: map[string]int{},
		violations: map[string]int{}, examples: map[string]string{}}
}

// violate records a broken contract; kind groups the same failure (say,
// "301 not in the error shape") of the same generator.
func (s *badStats) violate(c badCase, req rawRequest, kind, format string, args ...any) {
	s.violationN++
	key := fmt.Sprintf("[%s/%s] %s", c.category, c.name, kind)
	s.violations[key]++
	if _, ok := s.examples[key]; !ok {
		target := req.target
		if len(target) > 100 {
			target = target[:100] + "…"
		}
		body := string(req.body)
		if len(body) > 100 {
			body = body[:100] + "…"
		}
		s.examples[key] = fmt.Sprintf("%s %q body %q: %s", req.method, target, body, fmt.Sprintf(format, args...))
	}
}

// report lists the kinds of violation with their counts and examples.
func (s *badStats) report() string {
	keys := make([]string, 0, len(s.violations))
	for k := range s.violations {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n%s: %d times, e.g. %s", k, s.violations[k], s.examples[k])
	}
	return b.String()
}

// judge applies the drill's contract to one answer.
func (s *badStats) judge(c badCase, req rawRequest, a rawAnswer, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requestCount++
	if s.byCategory[c.category] == nil {
		s.byCategory[c.category] = map[int]int{}
	}
	if err != nil {
		s.byCategory[c.category][0]++
		s.violate(c, req, "no answer", "%v", err)
		return
	}
	s.byCategory[c.category][a.status]++
	if a.header.Get("X-Injected") != "" {
		s.violate(c, req, "injected header echoed", "X-Injected came back")
	}
	id := a.header.Get("X-Request-ID")
	if protocolRejection(a) {
		s.protocol[strings.TrimSpace(string(a.body))]++
		return
	}
	if !wellFormedRequestID.MatchString(id) {
		s.violate(c, req, "no well-formed X-Request-ID", "X-Request-ID %q", id)
	}
	switch {
	case a.status >= 500:
		s.violate(c, req, fmt.Sprintf("%d", a.status), "%s", a.body)
	case a.status >= 200 && a.status < 300:
		reason := req.may2xx
		if reason == "" {
			reason = c.may2xx
		}
		accidental := reason != "" && (req.body == nil || (json.Valid(req.body) && utf8.Valid(req.body)))
		if !accidental {
			s.violate(c, req, fmt.Sprintf("unexpected %d", a.status), "%s", first(a.body, 200))
		} else if !json.Valid(a.body) {
			s.violate(c, req, fmt.Sprintf("%d not JSON", a.status), "%q", first(a.body, 200))
		} else {
			s.documented2xx[c.category+": "+reason]++
		}
	default:
		var e struct {
			ErrorCode string `json:"error_code"`
			Message   string `json:"message"`
			RequestID string `json:"request_id"`
		}
		switch {
		case !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") || json.Unmarshal(a.body, &e) != nil:
			s.violate(c, req, fmt.Sprintf("%d not in the error shape", a.status), "%s %q", a.header.Get("Content-Type"), first(a.body, 200))
		case e.ErrorCode == "" || e.Message == "" || e.RequestID == "":
			s.violate(c, req, fmt.Sprintf("%d error body incomplete", a.status), "%s", a.body)
		case e.RequestID != id:
			s.violate(c, req, "request_id differs from X-Request-ID", "%q vs %q", e.RequestID, id)
		case errorStatus[e.ErrorCode] != a.status:
			s.violate(c, req, fmt.Sprintf("%s with status %d", e.ErrorCode, a.status), "%s", a.body)
		}
	}
}

// protocolRejection recognises the plain-text answers Go's net/http server
// writes itself for requests it cannot parse as HTTP (they never reach the
// router, so they cannot have the service's error shape).
func protocolRejection(a rawAnswer) bool {
	return a.header.Get("X-Request-ID") == "" && strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") &&
		strings.HasPrefix(string(a.body), strconv.Itoa(a.status)+" ") && a.status < 500
}

// TestBadInputDrill sends 10,000 malformed requests (broken JSON, huge
// numbers, wrong types, 2 MiB bodies, invalid UTF-8, path tricks, header
// injection in X-Request-ID, bad tokens) to three replicas: no 5xx, every
// answer in the one error shape or a documented 2xx, and every replica's
// memory back near its post-warmup baseline.
func TestBadInputDrill(t *testing.T) {
	needDrills(t)
	fig := newFigures(t, "bad-input")
	c := newCluster(t, clusterOptions{name: "badinput", redisDB: 15})
	c.startAll()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	lb := newBalancer(t, c.urls(), 4)
	admin, err := lb.login(ctx, "admin", "admin123")
	if err != nil {
		t.Fatal(err)
	}
	cases := badCases()
	var weights []int
	total := 0
	for _, bc := range cases {
		w := bc.weight
		if w == 0 {
			w = 10
		}
		total += w
		weights = append(weights, total)
	}
	addrs := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		addrs[i] = fmt.Sprintf("127.0.0.1:%d", n.port)
	}
	fire := func(n int, seed uint64, stats *badStats) time.Duration {
		start := time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := range badWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(seed, uint64(w)))
				for ctx.Err() == nil {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					k, _ := slices.BinarySearch(weights, rng.IntN(total)+1)
					bc := cases[k]
					req := bc.make(rng)
					a, err := sendRaw(addrs[i%len(addrs)], admin, req)
					stats.judge(bc, req, a, err)
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	rss := func() []int64 {
		out := make([]int64, len(c.nodes))
		for i, n := range c.nodes {
			kb, err := rssKB(n.Proc().PID())
			if err != nil {
				t.Fatalf("replica %s: %v", n.name, err)
			}
			out[i] = kb
		}
		return out
	}

	startRSS := rss()
	warm := newBadStats()
	warmTook := fire(badWarmup, 1, warm)
	time.Sleep(3 * time.Second)
	baseline := rss()

	peak := slices.Clone(baseline)
	sampling, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for sampling.Err() == nil {
			for i, kb := range rss() {
				peak[i] = max(peak[i], kb)
			}
			select {
			case <-sampling.Done():
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	stats := newBadStats()
	took := fire(badRequests, 2, stats)
	stopSampling()
	<-sampled
	if ctx.Err() != nil {
		t.Fatalf("the drill ran out of time after %d requests", stats.requestCount)
	}

	settleStart := time.Now()
	after := rss()
	for time.Since(settleStart) < 30*time.Second {
		settled := true
		for i := range after {
			settled = settled && after[i] <= baseline[i]+badRSSSlackKB
		}
		if settled {
			break
		}
		time.Sleep(time.Second)
		after = rss()
	}
	settleTook := time.Since(settleStart)
	var alive []string
	for i, n := range c.nodes {
		a, err := lb.sendTo(ctx, i, call{method: http.MethodGet, path: "/health/ready"})
		if err != nil || a.status != http.StatusOK {
			alive = append(alive, fmt.Sprintf("%s: %v %d", n.name, err, a.status))
		}
	}

	mib := func(kb []int64) string {
		parts := make([]string, len(kb))
		for i, v := range kb {
			parts[i] = fmt.Sprintf("%.1f", float64(v)/1024)
		}
		return strings.Join(parts, " / ") + " MiB"
	}
	stats.mu.Lock()
	defer stats.mu.Unlock()
	fig.add("replicas", len(c.nodes))
	fig.addf("warm-up", "%d malformed requests in %s (not judged)", badWarmup, warmTook.Round(100*time.Millisecond))
	fig.addf("malformed requests", "%d in %s by %d connections at once (%.0f/s)", stats.requestCount,
		took.Round(100*time.Millisecond), badWorkers, float64(stats.requestCount)/took.Seconds())
	var cats []string
	for cat := range stats.byCategory {
		cats = append(cats, cat)
	}
	slices.Sort(cats)
	for _, cat := range cats {
		fig.add("answers: "+cat, statuses(stats.byCategory[cat]))
	}
	var doc []string
	for k, v := range stats.documented2xx {
		doc = append(doc, fmt.Sprintf("%s: %d", k, v))
	}
	slices.Sort(doc)
	fig.add("documented 2xx (valid by accident)", strings.Join(doc, "; "))
	var proto []string
	for k, v := range stats.protocol {
		proto = append(proto, fmt.Sprintf("%q: %d", k, v))
	}
	slices.Sort(proto)
	fig.add("plain-text rejections by Go's HTTP server (not HTTP, never reach the router)", strings.Join(proto, "; "))
	fig.addf("VmRSS at start / after warm-up (baseline) / peak / settled", "%s → %s → %s → %s (settled in %s)",
		mib(startRSS), mib(baseline), mib(peak), mib(after), settleTook.Round(100*time.Millisecond))
	fig.check(t, "no 5xx, every answer in the one error shape or a documented 2xx", stats.violationN == 0,
		"%d violations:%s", stats.violationN, stats.report())
	over := []string{}
	for i := range after {
		if after[i] > baseline[i]+badRSSSlackKB {
			over = append(over, fmt.Sprintf("%s: %d KiB > %d + %d", c.nodes[i].name, after[i], baseline[i], badRSSSlackKB))
		}
	}
	fig.check(t, "memory back within 30 MiB of the post-warmup baseline", len(over) == 0, "%v", over)
	fig.check(t, "every replica still ready", len(alive) == 0, "%v", alive)
	logged := c.logLines(`"level":"ERROR"`, "panic")
	fig.check(t, "no ERROR or panic in the replicas' logs", len(logged) == 0, "%d, first %v", len(logged), first(logged, 5))
}
