package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

func TestPercentiles(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var d []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		d = append(d, ms(i))
	}
	tests := []struct {
		name string
		in   []time.Duration
		want Latency
	}{
		{"empty", nil, Latency{}},
		{"one", []time.Duration{ms(7)}, Latency{P50: 7, P90: 7, P99: 7, Max: 7}},
		{"1..100", d, Latency{P50: 50, P90: 90, P99: 99, Max: 100}},
		{"two", []time.Duration{ms(1), ms(3)}, Latency{P50: 1, P90: 3, P99: 3, Max: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, percentiles(tt.in)); diff != "" {
				t.Errorf("percentiles (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunStopsAtRequestCount(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	sc, _ := LookupScenario("health")
	res, err := Run(context.Background(), sc, Options{BaseURL: srv.URL, Concurrency: 8, Requests: 137, Duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 137 || hits.Load() != 137 || res.Status["200"] != 137 {
		t.Errorf("requests = %d, server hits = %d, 200s = %d; want 137 each", res.Requests, hits.Load(), res.Status["200"])
	}
}

// TestSpreadsWorkersOverServers: with several base URLs (replicas), worker
// w calls server w mod n, so four workers put half the load on each of two.
func TestSpreadsWorkersOverServers(t *testing.T) {
	var hits [2]atomic.Int64
	var urls []string
	for i := range hits {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits[i].Add(1) }))
		defer srv.Close()
		urls = append(urls, srv.URL)
	}
	sc, _ := LookupScenario("health")
	o := Options{BaseURL: strings.Join(urls, ","), Concurrency: 4, Requests: 400, Duration: time.Minute, Tokens: 1, Limit: 1}
	if err := o.validate(); err != nil {
		t.Fatalf("validate(%q): %v", o.BaseURL, err)
	}
	res, err := Run(context.Background(), sc, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 400 || hits[0].Load()+hits[1].Load() != 400 || hits[0].Load() == 0 || hits[1].Load() == 0 {
		t.Errorf("requests = %d, server hits = %d and %d; want 400 over both", res.Requests, hits[0].Load(), hits[1].Load())
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
	}))
	defer srv.Close()
	sc, _ := LookupScenario("health")
	res, err := Run(context.Background(), sc, Options{BaseURL: srv.URL, Concurrency: 2, Requests: 1_000_000, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Requests >= 1_000_000 || res.DurationSec > 5 {
		t.Errorf("requests = %d in %.3fs; want the duration bound to stop the run", res.Requests, res.DurationSec)
	}
	if res.Errors != 0 {
		t.Errorf("errors = %d (%s); the calls cut by the deadline must not count as errors", res.Errors, res.FirstError)
	}
}

func TestCountsTransportErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens now
	sc, _ := LookupScenario("health")
	res, err := Run(context.Background(), sc, Options{BaseURL: url, Concurrency: 2, Requests: 10, Duration: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 10 || res.FirstError == "" || len(res.Status) != 0 {
		t.Errorf("errors = %d, first = %q, status = %v; want 10 connection errors", res.Errors, res.FirstError, res.Status)
	}
}

func TestOptionsValidate(t *testing.T) {
	ok := Options{BaseURL: "http://127.0.0.1:8000", Concurrency: 1, Requests: 1, Duration: time.Second, Tokens: 1, Limit: 1}
	if err := ok.validate(); err != nil {
		t.Fatalf("valid options refused: %v", err)
	}
	bad := map[string]func(o *Options){
		"no scheme":      func(o *Options) { o.BaseURL = "127.0.0.1:8000" },
		"second no URL":  func(o *Options) { o.BaseURL = "http://127.0.0.1:8000,127.0.0.1:8001" },
		"budgets":        func(o *Options) { o.Budgets = -1 },
		"path":           func(o *Options) { o.Path = "api/v1/audit" },
		"zero workers":   func(o *Options) { o.Concurrency = 0 },
		"too many":       func(o *Options) { o.Requests = 20_000_000 },
		"no duration":    func(o *Options) { o.Duration = 0 },
		"long duration":  func(o *Options) { o.Duration = 2 * time.Hour },
		"no tokens":      func(o *Options) { o.Tokens = 0 },
		"negative limit": func(o *Options) { o.Limit = -1 },
		"negative rps":   func(o *Options) { o.RPS = -1 },
	}
	for name, mutate := range bad {
		o := ok
		mutate(&o)
		if err := o.validate(); err == nil {
			t.Errorf("%s: validate() = nil, want an error", name)
		}
	}
}

func TestOverspendFigures(t *testing.T) {
	got := overspendFigures(100_000, 101_000, 101, 399, 101_000)
	if got["over_allocation"] != int64(1000) {
		t.Errorf("over_allocation = %v, want 1000", got["over_allocation"])
	}
	if got := overspendFigures(100_000, 100_000, 100, 400, 100_000)["over_allocation"]; got != int64(0) {
		t.Errorf("over_allocation = %v, want 0", got)
	}
}

// TestScenariosAgainstTheService runs every scenario briefly against the real
// service and checks the JSON lines.
func TestScenariosAgainstTheService(t *testing.T) {
	srv := testenv.Quick(t)
	var out bytes.Buffer
	args := []string{"-base-url", srv.BaseURL, "-scenario", strings.Join(ScenarioNames(), ","),
		"-c", "4", "-n", "40", "-d", "20s", "-limit", "10000", "-tokens", "1000", "-label", "test"}
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(ScenarioNames()) {
		t.Fatalf("got %d lines, want one per scenario:\n%s", len(lines), out.String())
	}
	for i, line := range lines {
		var r Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if r.Scenario != ScenarioNames()[i] || r.Label != "test" || r.Errors != 0 || r.Requests == 0 || r.RPS <= 0 {
			t.Errorf("result %+v: want scenario %s, label, requests, rps and no errors", r, ScenarioNames()[i])
		}
		if r.Latency.P50 > r.Latency.P90 || r.Latency.P90 > r.Latency.P99 || r.Latency.P99 > r.Latency.Max {
			t.Errorf("%s: percentiles out of order: %+v", r.Scenario, r.Latency)
		}
		switch r.Scenario {
		case "overspend":
			if r.Status["200"] != 10 || r.Status["409"] != 30 || r.Extra["over_allocation"] != float64(0) {
				t.Errorf("overspend = %+v, want 10 approved, 30 refused, no over-allocation", r)
			}
		case "budget-cycle":
			if r.Status["200"] != 80 { // 40 cycles of request + commit
				t.Errorf("budget-cycle status = %v, want 80 answers of 200", r.Status)
			}
		default:
			if r.Status["200"] != 40 {
				t.Errorf("%s status = %v, want 40 answers of 200", r.Scenario, r.Status)
			}
		}
	}
}

func TestPermitsDue(t *testing.T) {
	tests := []struct {
		elapsed time.Duration
		rps     float64
		want    int64
	}{
		{0, 100, 1},
		{9 * time.Millisecond, 100, 1},
		{10 * time.Millisecond, 100, 2},
		{time.Second, 100, 101},
		{1500 * time.Millisecond, 2, 4},
		{time.Second, 0.5, 1},
	}
	for _, tt := range tests {
		if got := permitsDue(tt.elapsed, tt.rps); got != tt.want {
			t.Errorf("permitsDue(%v, %v) = %d, want %d", tt.elapsed, tt.rps, got, tt.want)
		}
	}
}

// TestRunPacedByRPS checks the bound that holds however slow the machine is:
// a paced run never sends more than the pacer allowed for its duration. Each
// subtest has its own server, closed (which waits for every request in
// flight) before the hits are counted: a call cut by the end of the run may
// still reach the server after Run returns, and must neither be lost nor
// land in the next subtest's count.
func TestRunPacedByRPS(t *testing.T) {
	sc, _ := LookupScenario("health")
	tests := []struct {
		name     string
		rps      float64
		requests int
		duration time.Duration
		exact    bool // the request bound ends the run: no call is cut
	}{
		{"duration bound", 40, 1_000_000, 500 * time.Millisecond, false},
		{"request bound ends before the duration", 1000, 10, time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
			res, err := Run(context.Background(), sc, Options{BaseURL: srv.URL, Concurrency: 8, Requests: tt.requests,
				Duration: tt.duration, RPS: tt.rps})
			srv.Close()
			if err != nil {
				t.Fatal(err)
			}
			elapsed := time.Duration(res.DurationSec * float64(time.Second))
			allowed := min(int64(tt.requests), permitsDue(elapsed+time.Millisecond, tt.rps))
			// Calls cut by the duration bound reach the server but are not
			// recorded, so the server may count more than the run; never
			// more than the pacer allowed.
			if got := hits.Load(); res.Requests == 0 || int64(res.Requests) > got || got > allowed {
				t.Errorf("requests = %d, server hits = %d in %v; want 1 <= requests <= hits <= %d (rate %v)", res.Requests, got, elapsed, allowed, tt.rps)
			}
			if tt.exact && (res.Requests != tt.requests || hits.Load() != int64(tt.requests)) {
				t.Errorf("requests = %d, server hits = %d; want %d each when the request bound ends the run", res.Requests, hits.Load(), tt.requests)
			}
			if res.TargetRPS != tt.rps || res.Errors != 0 {
				t.Errorf("target_rps = %v, errors = %d (%s); want %v and none", res.TargetRPS, res.Errors, res.FirstError, tt.rps)
			}
			if elapsed > 30*time.Second { // the pacer must not hold the run open after the last request
				t.Errorf("run took %v; want it to end at its request or duration bound", elapsed)
			}
		})
	}
}
