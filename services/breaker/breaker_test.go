package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"github.com/golden-architecture/control-plane/services/breaker"
	"github.com/golden-architecture/control-plane/services/errs"
)

var errDown = errors.New("dial tcp 127.0.0.1:1: connect: connection refused")

// anyError counts every error as a failure, except errAnswer.
var errAnswer = errors.New("the dependency answered: no such key")

func anyError(err error) bool { return !errors.Is(err, errAnswer) }

// refused reports whether err is a call a breaker refused (open or half-open
// and full) rather than one that reached the dependency.
func refused(err error) bool {
	return errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests)
}

func newRegistry(t *testing.T, s breaker.Settings) (*breaker.Registry, *prometheus.Registry) {
	t.Helper()
	prom := prometheus.NewRegistry()
	reg, err := breaker.NewRegistry(breaker.Options{Settings: s, Registerer: prom})
	if err != nil {
		t.Fatal(err)
	}
	return reg, prom
}

func add(t *testing.T, reg *breaker.Registry, name string) *breaker.Breaker {
	t.Helper()
	b, err := reg.Add(name, anyError)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// call runs one call through b that returns err and reports whether the
// dependency was reached.
func call(b *breaker.Breaker, err error) (reached bool, got error) {
	got = b.Do(context.Background(), func(context.Context) error {
		reached = true
		return err
	})
	return reached, got
}

func waitState(t *testing.T, b *breaker.Breaker, want breaker.State) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for b.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("breaker %s state = %s, want %s within 5s", b.Name(), b.State(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func stateMetric(t *testing.T, prom *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := prom.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "circuit_breaker_state" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() == name {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no circuit_breaker_state{name=%q}", name)
	return 0
}

func transitions(t *testing.T, prom *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := prom.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "circuit_breaker_transitions_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			out[l["name"]+":"+l["from"]+">"+l["to"]] = m.GetCounter().GetValue()
		}
	}
	return out
}

// TestLifecycle walks one breaker through closed → open → half-open → closed
// and checks the refusals, the counters, the gauge and the transitions.
func TestLifecycle(t *testing.T) {
	reg, prom := newRegistry(t, breaker.Settings{FailureThreshold: 3, OpenTimeout: 100 * time.Millisecond, HalfOpenMaxCalls: 1})
	b := add(t, reg, "redis")
	start := b.Status().LastStateChange

	for i := range 2 {
		if reached, err := call(b, errDown); !reached || !errors.Is(err, errDown) {
			t.Fatalf("failure %d: reached %v, err %v; want the call made and its error returned", i+1, reached, err)
		}
	}
	if got := b.Status(); got.State != breaker.Closed || got.ConsecutiveFailures != 2 {
		t.Fatalf("after 2 failures: %+v, want closed with 2 consecutive failures", got)
	}
	call(b, errDown)
	if got := b.State(); got != breaker.Open {
		t.Fatalf("after 3 failures state = %s, want open", got)
	}
	if got := stateMetric(t, prom, "redis"); got != 2 {
		t.Errorf("circuit_breaker_state{redis} = %v, want 2 (open)", got)
	}
	if b.Status().LastStateChange.Before(start) {
		t.Errorf("last_state_change went back in time on opening")
	}

	reached, err := call(b, nil)
	if reached {
		t.Error("an open breaker let the call through")
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.CodeUnavailable || !refused(err) {
		t.Fatalf("refusal = %v, want a %s refusal", err, errs.CodeUnavailable)
	}
	if e.Details["breaker"] != "redis" || e.Details["state"] != "open" {
		t.Errorf("refusal details = %v, want breaker redis, state open", e.Details)
	}

	waitState(t, b, breaker.HalfOpen)
	if got := stateMetric(t, prom, "redis"); got != 1 {
		t.Errorf("circuit_breaker_state{redis} = %v, want 1 (half-open)", got)
	}
	if reached, err := call(b, nil); !reached || err != nil {
		t.Fatalf("trial call: reached %v, err %v; want it made", reached, err)
	}
	if got := b.State(); got != breaker.Closed {
		t.Fatalf("after a successful trial state = %s, want closed", got)
	}
	if got := stateMetric(t, prom, "redis"); got != 0 {
		t.Errorf("circuit_breaker_state{redis} = %v, want 0 (closed)", got)
	}

	got := b.Status()
	got.LastStateChange = time.Time{}
	want := breaker.Status{Name: "redis", State: breaker.Closed, TotalRequests: 5, TotalFailures: 3, TotalSuccesses: 1, TotalRejected: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	wantTransitions := map[string]float64{"redis:closed>open": 1, "redis:open>half_open": 1, "redis:half_open>closed": 1}
	if diff := cmp.Diff(wantTransitions, transitions(t, prom)); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
}

// TestHalfOpen: a failed trial opens the breaker again; while the trials are
// in flight further calls are refused.
func TestHalfOpen(t *testing.T) {
	reg, _ := newRegistry(t, breaker.Settings{FailureThreshold: 1, OpenTimeout: 50 * time.Millisecond, HalfOpenMaxCalls: 2})
	b := add(t, reg, "nats")
	call(b, errDown)
	waitState(t, b, breaker.HalfOpen)

	// Two trials may run at once; a third is refused as "recovering".
	done1, err1 := b.Allow(context.Background())
	done2, err2 := b.Allow(context.Background())
	if err1 != nil || err2 != nil {
		t.Fatalf("trials refused: %v, %v", err1, err2)
	}
	_, err := b.Allow(context.Background())
	var e *errs.Error
	if !errors.As(err, &e) || e.Details["state"] != "half_open" {
		t.Fatalf("third call while two trials run: %v, want a half-open refusal", err)
	}
	done1(nil)
	done2(errDown)
	if got := b.State(); got != breaker.Open {
		t.Fatalf("after a failed trial state = %s, want open", got)
	}
}

// TestOutcomes: answers of a working dependency count as successes, calls
// whose caller went away count as nothing, neither opens the breaker.
func TestOutcomes(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name          string
		ctx           context.Context
		err           error
		wantSuccesses uint64
		wantFailures  uint64
		wantState     breaker.State
	}{
		{"answers", context.Background(), errAnswer, 5, 0, breaker.Closed},
		{"caller cancelled", canceled, errDown, 0, 0, breaker.Closed},
		{"context.Canceled returned", context.Background(), fmt.Errorf("redis get: %w", context.Canceled), 0, 0, breaker.Closed},
		{"failures", context.Background(), errDown, 0, 5, breaker.Open},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, _ := newRegistry(t, breaker.Settings{FailureThreshold: 5, OpenTimeout: time.Minute, HalfOpenMaxCalls: 1})
			b := add(t, reg, "redis")
			for range 5 {
				_ = b.Do(tt.ctx, func(context.Context) error { return tt.err })
			}
			got := b.Status()
			if got.TotalSuccesses != tt.wantSuccesses || got.TotalFailures != tt.wantFailures || got.State != tt.wantState || got.TotalRequests != 5 {
				t.Errorf("status %+v; want %d successes, %d failures, 5 requests, %s", got, tt.wantSuccesses, tt.wantFailures, tt.wantState)
			}
		})
	}
}

// TestPanicFreesTheTrialSlot: a call that panics is not counted, and a
// half-open breaker is not left waiting for its report forever.
func TestPanicFreesTheTrialSlot(t *testing.T) {
	reg, _ := newRegistry(t, breaker.Settings{FailureThreshold: 1, OpenTimeout: 20 * time.Millisecond, HalfOpenMaxCalls: 1})
	b := add(t, reg, "nats")
	call(b, errDown)
	waitState(t, b, breaker.HalfOpen)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic was swallowed")
			}
		}()
		_ = b.Do(context.Background(), func(context.Context) error { panic("boom") })
	}()
	if reached, err := call(b, nil); !reached || err != nil {
		t.Fatalf("after a panicking trial: reached %v, err %v; want the next trial made", reached, err)
	}
}

// TestReset: a reset closes at once, keeps the lifetime totals, counts the
// transition, and ignores reports of calls made before it.
func TestReset(t *testing.T) {
	reg, prom := newRegistry(t, breaker.Settings{FailureThreshold: 2, OpenTimeout: time.Hour, HalfOpenMaxCalls: 1})
	db := add(t, reg, "database")
	nats := add(t, reg, "nats")
	add(t, reg, "redis")

	pending, err := nats.Allow(context.Background()) // in flight across the reset
	if err != nil {
		t.Fatal(err)
	}
	call(db, errDown)
	call(db, errDown)
	opened := db.Status().LastStateChange
	if db.State() != breaker.Open {
		t.Fatal("database breaker did not open")
	}
	time.Sleep(2 * time.Millisecond)

	if got := reg.ResetAll(); !cmp.Equal(got, []string{"database", "nats", "redis"}) {
		t.Errorf("ResetAll = %v, want the names sorted", got)
	}
	got := db.Status()
	if got.State != breaker.Closed || got.ConsecutiveFailures != 0 || got.TotalFailures != 2 || !got.LastStateChange.After(opened) {
		t.Errorf("after reset: %+v; want closed, 0 consecutive, 2 lifetime failures, a later last_state_change", got)
	}
	if reached, _ := call(db, nil); !reached {
		t.Error("a reset breaker refused a call")
	}
	pending(errDown)
	pending(errDown) // a second report is ignored
	call(nats, errDown)
	if got := nats.Status(); got.State != breaker.Closed || got.ConsecutiveFailures != 1 || got.TotalFailures != 2 {
		t.Errorf("nats after a stale report and one failure: %+v; want closed, 1 consecutive (the stale one not counted by the new circuit), 2 lifetime", got)
	}
	tr := transitions(t, prom)
	if tr["database:open>closed"] != 1 || tr["nats:closed>closed"] != 0 {
		t.Errorf("transitions = %v, want database open>closed once and nothing for closed breakers", tr)
	}
	if reg.Reset("nope") {
		t.Error("Reset of an unknown name reported true")
	}
	if !reg.Reset("database") {
		t.Error("Reset of database reported false")
	}
}

// TestConcurrentResets: calls and resets from many goroutines (run with -race).
func TestConcurrentResets(t *testing.T) {
	reg, prom := newRegistry(t, breaker.Settings{FailureThreshold: 3, OpenTimeout: time.Millisecond, HalfOpenMaxCalls: 2})
	b := add(t, reg, "redis")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				if i == 0 && j%20 == 0 {
					reg.ResetAll()
					continue
				}
				err := errDown
				if j%3 == 0 {
					err = nil
				}
				_ = b.Do(context.Background(), func(context.Context) error { return err })
				_ = b.Status()
			}
		})
	}
	wg.Wait()
	s := b.Status()
	if s.TotalRequests != s.TotalSuccesses+s.TotalFailures+s.TotalRejected {
		t.Errorf("requests %d != successes %d + failures %d + rejected %d", s.TotalRequests, s.TotalSuccesses, s.TotalFailures, s.TotalRejected)
	}
	if _, err := prom.Gather(); err != nil {
		t.Errorf("gather: %v", err)
	}
}

func TestRegistryErrors(t *testing.T) {
	if _, err := breaker.NewRegistry(breaker.Options{Settings: breaker.Settings{FailureThreshold: 0, OpenTimeout: time.Second, HalfOpenMaxCalls: 1}}); err == nil {
		t.Error("threshold 0 accepted")
	}
	if _, err := breaker.NewRegistry(breaker.Options{Settings: breaker.Settings{FailureThreshold: 1, OpenTimeout: 0, HalfOpenMaxCalls: 1}}); err == nil {
		t.Error("open timeout 0 accepted")
	}
	reg, prom := newRegistry(t, breaker.Settings{FailureThreshold: 1, OpenTimeout: time.Second, HalfOpenMaxCalls: 1})
	add(t, reg, "redis")
	if _, err := reg.Add("redis", anyError); err == nil {
		t.Error("a second breaker named redis was accepted")
	}
	if _, err := reg.Add("x", nil); err == nil {
		t.Error("a breaker without a classifier was accepted")
	}
	if _, err := breaker.NewRegistry(breaker.Options{Settings: reg.Settings(), Registerer: prom}); err == nil {
		t.Error("registering the metrics twice on one registry succeeded")
	}
	families, err := prom.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range families {
		if f.GetName() == "breaker_resets_total" {
			found = f.GetMetric()[0].GetCounter().GetValue() == 0
		}
	}
	if !found {
		t.Error("breaker_resets_total is not exposed at 0 before any reset")
	}
}
