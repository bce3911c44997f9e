package ratelimit_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/ulule/limiter/v3"

	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/ratelimit"
)

func mustRate(t testing.TB, s string) ratelimit.Rate {
	t.Helper()
	r, err := limiter.NewRateFromFormatted(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// testOptions: every role and scope has rate "3-M" unless overridden.
func testOptions(t testing.TB) ratelimit.Options {
	t.Helper()
	opts := ratelimit.Options{Roles: map[string]ratelimit.Rate{}, Scopes: map[string]ratelimit.Scope{}}
	for _, role := range []string{"admin", "operator", "developer", "observer", "anonymous"} {
		opts.Roles[role] = mustRate(t, "3-M")
	}
	for _, s := range []string{ratelimit.ScopeBudgetRequest, ratelimit.ScopeBreakerReset, ratelimit.ScopeHealth} {
		opts.Scopes[s] = ratelimit.Scope{Rate: mustRate(t, "3-M")}
	}
	opts.Scopes[ratelimit.ScopeLogin] = ratelimit.Scope{Rate: mustRate(t, "3-M"), PerIP: true}
	return opts
}

func newLimiter(t testing.TB, store ratelimit.Store, opts ratelimit.Options) *ratelimit.Limiter {
	t.Helper()
	l, err := ratelimit.New(store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestNewRejectsBadOptions(t *testing.T) {
	store := ratelimit.NewMemoryStore("t")
	noAnon := testOptions(t)
	delete(noAnon.Roles, "anonymous")
	badMode := testOptions(t)
	badMode.FailMode = "sideways"
	scopeIsRole := testOptions(t)
	scopeIsRole.Scopes["admin"] = ratelimit.Scope{Rate: mustRate(t, "1-M")}
	tests := []struct {
		name  string
		store ratelimit.Store
		opts  ratelimit.Options
	}{
		{"nil store", nil, testOptions(t)},
		{"no anonymous rate", store, noAnon},
		{"unknown fail mode", store, badMode},
		{"a route scope named like a role", store, scopeIsRole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ratelimit.New(tt.store, tt.opts); err == nil {
				t.Fatal("New succeeded, want an error")
			}
		})
	}
}

// TestLimitPerScope: for every scope, N requests pass and request N+1 is
// reached, with Remaining counting down and Reset in the window.
func TestLimitPerScope(t *testing.T) {
	type take func(l *ratelimit.Limiter, key string) (ratelimit.Result, error)
	role := func(name string) take {
		return func(l *ratelimit.Limiter, key string) (ratelimit.Result, error) {
			return l.Role(context.Background(), name, key)
		}
	}
	scope := func(name string) take {
		return func(l *ratelimit.Limiter, key string) (ratelimit.Result, error) {
			return l.Scope(context.Background(), name, key)
		}
	}
	tests := []struct {
		name      string
		take      take
		wantScope string
	}{
		{"admin", role("admin"), "admin"},
		{"operator", role("operator"), "operator"},
		{"developer", role("developer"), "developer"},
		{"observer", role("observer"), "observer"},
		{"anonymous", role("anonymous"), "anonymous"},
		{"unknown role is anonymous", role("wizard"), "anonymous"},
		{"login", scope(ratelimit.ScopeLogin), ratelimit.ScopeLogin},
		{"budget_request", scope(ratelimit.ScopeBudgetRequest), ratelimit.ScopeBudgetRequest},
		{"breaker_reset", scope(ratelimit.ScopeBreakerReset), ratelimit.ScopeBreakerReset},
		{"health", scope(ratelimit.ScopeHealth), ratelimit.ScopeHealth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			opts := testOptions(t)
			opts.Metrics = ratelimit.NewMetrics(reg)
			l := newLimiter(t, ratelimit.NewMemoryStore("t"), opts)
			start := time.Now()
			for i := int64(1); i <= 4; i++ {
				got, err := tt.take(l, ratelimit.UserKey("u1"))
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				wantRemaining := max(3-i, 0)
				if got.Scope != tt.wantScope || got.Limit != 3 || got.Remaining != wantRemaining || got.Reached != (i > 3) || !got.Enforced {
					t.Fatalf("request %d = %+v, want scope %s limit 3 remaining %d reached %v enforced", i, got, tt.wantScope, wantRemaining, i > 3)
				}
				if got.Reset.Before(start) || got.Reset.After(start.Add(time.Minute+2*time.Second)) {
					t.Errorf("request %d: reset %v not within the minute from %v", i, got.Reset, start)
				}
			}
			if got := counterSum(t, reg, "rate_limit_exceeded_total"); got != 1 {
				t.Errorf("rate_limit_exceeded_total = %v, want 1", got)
			}
		})
	}
}

// TestKeysAreSeparate: budgets do not leak between keys, and scopes (route
// scopes and role limits) never share counters.
func TestKeysAreSeparate(t *testing.T) {
	ctx := context.Background()
	l := newLimiter(t, ratelimit.NewMemoryStore("t"), testOptions(t))
	for range 3 {
		if _, err := l.Scope(ctx, ratelimit.ScopeHealth, ratelimit.UserKey("a")); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name          string
		take          func() (ratelimit.Result, error)
		wantRemaining int64
	}{
		{"same key and scope is used up", func() (ratelimit.Result, error) {
			return l.Scope(ctx, ratelimit.ScopeHealth, ratelimit.UserKey("a"))
		}, 0},
		{"another user", func() (ratelimit.Result, error) {
			return l.Scope(ctx, ratelimit.ScopeHealth, ratelimit.UserKey("b"))
		}, 2},
		{"an IP spelled like the user", func() (ratelimit.Result, error) {
			return l.Scope(ctx, ratelimit.ScopeHealth, ratelimit.IPKey("a"))
		}, 2},
		{"another scope", func() (ratelimit.Result, error) {
			return l.Scope(ctx, ratelimit.ScopeBreakerReset, ratelimit.UserKey("a"))
		}, 2},
		{"the role's scope", func() (ratelimit.Result, error) {
			return l.Role(ctx, "admin", ratelimit.UserKey("a"))
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.take()
			if err != nil {
				t.Fatal(err)
			}
			if got.Remaining != tt.wantRemaining {
				t.Errorf("remaining = %d, want %d", got.Remaining, tt.wantRemaining)
			}
		})
	}
	if !l.ScopePerIP(ratelimit.ScopeLogin) || l.ScopePerIP(ratelimit.ScopeHealth) {
		t.Errorf("ScopePerIP(login, health) = %v, %v; want true, false", l.ScopePerIP(ratelimit.ScopeLogin), l.ScopePerIP(ratelimit.ScopeHealth))
	}
	if _, err := l.Scope(ctx, "nope", "k"); err == nil {
		t.Error("unknown scope: no error")
	}
}

// flakyStore fails while down is set and otherwise delegates.
type flakyStore struct {
	inner ratelimit.Store
	down  atomic.Bool
	calls atomic.Int64
}

func (s *flakyStore) Get(ctx context.Context, key string, rate ratelimit.Rate) (limiter.Context, error) {
	s.calls.Add(1)
	if s.down.Load() {
		return limiter.Context{}, errors.New("dial tcp 127.0.0.1:1: connection refused")
	}
	return s.inner.Get(ctx, key, rate)
}

// logCounter counts log records by message.
type logCounter struct {
	mu   sync.Mutex
	msgs []string
}

func (h *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *logCounter) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, r.Level.String()+" "+r.Message)
	return nil
}
func (h *logCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logCounter) WithGroup(string) slog.Handler      { return h }
func (h *logCounter) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.msgs...)
}

// TestStoreOutage: fail open passes requests unenforced, fail closed answers
// service.unavailable; both log once per transition, set the gauge while
// degraded, and enforce limits again when the store answers.
func TestStoreOutage(t *testing.T) {
	tests := []struct {
		mode        ratelimit.FailMode
		wantErrCode errs.Code
	}{
		{ratelimit.FailOpen, ""},
		{ratelimit.FailClosed, errs.CodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			ctx := context.Background()
			reg := prometheus.NewRegistry()
			logs := &logCounter{}
			store := &flakyStore{inner: ratelimit.NewMemoryStore("t")}
			opts := testOptions(t)
			opts.FailMode, opts.Log, opts.Metrics = tt.mode, slog.New(logs), ratelimit.NewMetrics(reg)
			l := newLimiter(t, store, opts)

			for range 3 {
				if _, err := l.Role(ctx, "anonymous", ratelimit.IPKey("1.2.3.4")); err != nil {
					t.Fatal(err)
				}
			}
			store.down.Store(true)
			for i := range 10 {
				got, err := l.Role(ctx, "anonymous", ratelimit.IPKey("1.2.3.4"))
				if tt.wantErrCode == "" {
					if err != nil || got.Enforced || got.Reached {
						t.Fatalf("down request %d = %+v, %v; want passed unenforced", i, got, err)
					}
				} else if !errs.Is(err, tt.wantErrCode) {
					t.Fatalf("down request %d error = %v, want %s", i, err, tt.wantErrCode)
				}
			}
			if !l.Degraded() || gaugeValue(t, reg, "rate_limit_degraded") != 1 {
				t.Errorf("while down: Degraded() = %v, gauge = %v; want true, 1", l.Degraded(), gaugeValue(t, reg, "rate_limit_degraded"))
			}
			store.down.Store(false)
			got, err := l.Role(ctx, "anonymous", ratelimit.IPKey("1.2.3.4"))
			if err != nil || !got.Enforced || !got.Reached {
				t.Fatalf("after recovery = %+v, %v; want enforced and reached (the counter survived)", got, err)
			}
			if l.Degraded() || gaugeValue(t, reg, "rate_limit_degraded") != 0 {
				t.Errorf("after recovery: Degraded() = %v, gauge = %v; want false, 0", l.Degraded(), gaugeValue(t, reg, "rate_limit_degraded"))
			}
			msgs := logs.messages()
			if len(msgs) != 2 || !strings.HasPrefix(msgs[0], "WARN") || !strings.HasPrefix(msgs[1], "INFO") {
				t.Errorf("log = %q, want one WARN when degraded and one INFO when recovered", msgs)
			}
		})
	}
}

// TestCallTimeoutAndGuard: a hanging store costs at most the call timeout, the
// guard sees every call, and a request whose own context ended does not mark
// the store degraded.
func TestCallTimeoutAndGuard(t *testing.T) {
	hang := storeFunc(func(ctx context.Context, _ string, _ ratelimit.Rate) (limiter.Context, error) {
		<-ctx.Done()
		return limiter.Context{}, ctx.Err()
	})
	var guarded atomic.Int64
	opts := testOptions(t)
	opts.CallTimeout = 20 * time.Millisecond
	opts.Guard = func(ctx context.Context, call func(context.Context) error) error {
		guarded.Add(1)
		return call(ctx)
	}
	l := newLimiter(t, hang, opts)

	start := time.Now()
	got, err := l.Role(context.Background(), "admin", ratelimit.UserKey("u"))
	if err != nil || got.Enforced {
		t.Fatalf("hanging store = %+v, %v; want unenforced pass (fail open)", got, err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a hanging store held the request %v; the call timeout is 20ms", took)
	}
	if !l.Degraded() || guarded.Load() != 1 {
		t.Errorf("Degraded() = %v, guard calls = %d; want true, 1", l.Degraded(), guarded.Load())
	}

	l2 := newLimiter(t, hang, opts)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l2.Role(ctx, "admin", ratelimit.UserKey("u")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request error = %v, want context.Canceled", err)
	}
	if l2.Degraded() {
		t.Error("a cancelled request marked the store degraded")
	}

	refuse := opts
	refuse.Guard = func(context.Context, func(context.Context) error) error { return errors.New("breaker open") }
	refuse.FailMode = ratelimit.FailClosed
	l3 := newLimiter(t, ratelimit.NewMemoryStore("t"), refuse)
	if _, err := l3.Role(context.Background(), "admin", ratelimit.UserKey("u")); !errs.Is(err, errs.CodeUnavailable) {
		t.Errorf("guard refusal in fail-closed mode: error = %v, want %s", err, errs.CodeUnavailable)
	}
}

type storeFunc func(ctx context.Context, key string, rate ratelimit.Rate) (limiter.Context, error)

func (f storeFunc) Get(ctx context.Context, key string, rate ratelimit.Rate) (limiter.Context, error) {
	return f(ctx, key, rate)
}

func gaugeValue(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	return metricSum(t, reg, name)
}

func counterSum(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	return metricSum(t, reg, name)
}

func metricSum(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}
