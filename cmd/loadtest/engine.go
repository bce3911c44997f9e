package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options bound and parameterise a run.
type Options struct {
	BaseURL     string
	Concurrency int
	Requests    int
	Duration    time.Duration
	Username    string
	Password    string
	HotBudget   bool
	Limit       int64
	Tokens      int64
	Label       string
	// Budgets is how many budgets budget-cycle spreads over (0: one per
	// worker; HotBudget: one).
	Budgets int
	// Tenant makes budget-cycle use the existing budgets Tenant/p0 …
	// p<Budgets-1> (growth-prefill.sql makes them) instead of fresh ones.
	Tenant string
	// Path is the GET path of the get scenario.
	Path string
	// RPS paces the run to this many scenario units per second (0: as fast
	// as the workers go). A unit is one request, or one request+commit
	// cycle in budget-cycle.
	RPS float64
}

func (o Options) validate() error {
	for _, base := range baseURLs(o.BaseURL) {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-base-url %q is not an http(s) URL", base)
		}
	}
	switch {
	case o.Concurrency < 1 || o.Concurrency > 4096:
		return errors.New("-c must be between 1 and 4096")
	case o.Requests < 1 || o.Requests > 10_000_000:
		return errors.New("-n must be between 1 and 10,000,000")
	case o.Duration <= 0 || o.Duration > time.Hour:
		return errors.New("-d must be between 0 and 1h")
	case o.Tokens < 1 || o.Limit < 1:
		return errors.New("-tokens and -limit must be positive")
	case o.RPS < 0 || o.RPS > 1_000_000:
		return errors.New("-rps must be between 0 (unpaced) and 1,000,000")
	case o.Budgets < 0 || o.Budgets > 100_000:
		return errors.New("-budgets must be between 0 (one per worker) and 100,000")
	case o.Path != "" && !strings.HasPrefix(o.Path, "/"):
		return errors.New("-path must start with /")
	}
	return nil
}

// Result is one scenario's JSON line.
type Result struct {
	Scenario    string         `json:"scenario"`
	Label       string         `json:"label,omitempty"`
	DurationSec float64        `json:"duration_s"`
	Concurrency int            `json:"concurrency"`
	TargetRPS   float64        `json:"target_rps,omitempty"`
	Requests    int            `json:"requests"`
	RPS         float64        `json:"rps"`
	Latency     Latency        `json:"latency_ms"`
	Status      map[string]int `json:"status"`
	Errors      int            `json:"errors"`
	FirstError  string         `json:"first_error,omitempty"`
	Extra       map[string]any `json:"extra,omitempty"`
}

// Latency holds percentiles in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Worker performs one unit of a scenario (one or more HTTP calls) and reports
// each call, failed or not, through rec.
type Worker func(ctx context.Context, id, iteration int, rec *Recorder)

// Scenario prepares shared state, returns the per-request work, and may add
// figures after the run.
type Scenario struct {
	Name  string
	Setup func(ctx context.Context, c *Client, o Options) (Worker, func(ctx context.Context) (map[string]any, error), error)
}

// Recorder collects latencies and statuses; each worker has its own, so
// recording takes no lock.
type Recorder struct {
	latencies []time.Duration
	status    map[int]int
	errors    int
	firstErr  error
}

func newRecorder(capHint int) *Recorder {
	return &Recorder{latencies: make([]time.Duration, 0, capHint), status: map[int]int{}}
}

// Observe records one call.
func (r *Recorder) Observe(d time.Duration, status int, err error) {
	r.latencies = append(r.latencies, d)
	if err != nil {
		r.errors++
		if r.firstErr == nil {
			r.firstErr = err
		}
		return
	}
	r.status[status]++
}

// Run executes sc within the bounds of o: at most o.Requests units, at most
// o.Duration, o.Concurrency at a time.
func Run(ctx context.Context, sc Scenario, o Options) (Result, error) {
	client := NewClient(o.BaseURL, o.Concurrency)
	work, after, err := sc.Setup(ctx, client, o)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var next atomic.Int64
	recs := make([]*Recorder, o.Concurrency)
	var wg sync.WaitGroup
	var permits chan struct{}
	paceDone := make(chan struct{})
	paceCtx, stopPace := context.WithCancel(ctx)
	if o.RPS > 0 {
		permits = make(chan struct{})
		go func() { defer close(paceDone); pace(paceCtx, o.RPS, permits) }()
	} else {
		close(paceDone)
	}
	start := time.Now()
	for w := range o.Concurrency {
		recs[w] = newRecorder(min(o.Requests/o.Concurrency+1, 1<<16)) // -n is often a loose upper bound
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if permits != nil && !takePermit(ctx, permits) {
					return
				}
				i := int(next.Add(1)) - 1
				if i >= o.Requests {
					return
				}
				work(ctx, w, i, recs[w])
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopPace()
	<-paceDone
	res := summarize(sc.Name, o, elapsed, recs)
	if after != nil {
		extra, err := after(context.WithoutCancel(ctx))
		if err != nil {
			return res, err
		}
		res.Extra = extra
	}
	return res, nil
}

func summarize(name string, o Options, elapsed time.Duration, recs []*Recorder) Result {
	res := Result{Scenario: name, Label: o.Label, Concurrency: o.Concurrency, TargetRPS: o.RPS, Status: map[string]int{},
		DurationSec: round(elapsed.Seconds(), 3)}
	var all []time.Duration
	for _, r := range recs {
		all = append(all, r.latencies...)
		for code, n := range r.status {
			res.Status[fmt.Sprint(code)] += n
		}
		res.Errors += r.errors
		if res.FirstError == "" && r.firstErr != nil {
			res.FirstError = r.firstErr.Error()
		}
	}
	res.Requests = len(all)
	if elapsed > 0 {
		res.RPS = round(float64(res.Requests)/elapsed.Seconds(), 1)
	}
	res.Latency = percentiles(all)
	return res
}

// percentiles uses the nearest-rank method on a sorted copy.
func percentiles(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	ms := func(x time.Duration) float64 { return round(float64(x)/float64(time.Millisecond), 3) }
	return Latency{P50: ms(rank(s, 50)), P90: ms(rank(s, 90)), P99: ms(rank(s, 99)), Max: ms(s[len(s)-1])}
}

func rank(sorted []time.Duration, p float64) time.Duration {
	n := int(float64(len(sorted))*p/100 + 0.999999999)
	n = max(1, min(n, len(sorted)))
	return sorted[n-1]
}

func round(x float64, places int) float64 {
	p := 1.0
	for range places {
		p *= 10
	}
	return float64(int64(x*p+0.5)) / p
}

// statusOK is a helper for scenario checks.
func statusOK(code int) bool { return code >= 200 && code < 300 }
