// Package breaker guards the service's outbound dependencies (the database,
// Redis, NATS) with circuit breakers built on sony/gobreaker. After
// BREAKER_FAILURE_THRESHOLD consecutive failures of a dependency its calls are
// refused at once with 503 service.unavailable for BREAKER_OPEN_TIMEOUT,
// instead of every request waiting for a dependency that is down; then up to
// BREAKER_HALF_OPEN_MAX_CALLS trial calls decide whether it closes again.
// Operators can reset every breaker of every replica (broadcast over Redis).
package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/golden-architecture/control-plane/services/errs"
)

// The names of the breakers the service registers.
const (
	Database = "database"
	Redis    = "redis"
	NATS     = "nats"
)

// State is a breaker's state as the API and the logs show it.
type State string

// The three states of a breaker.
const (
	Closed   State = "closed"
	HalfOpen State = "half_open"
	Open     State = "open"
)

// stateOf names a gobreaker state.
func stateOf(s gobreaker.State) State {
	switch s {
	case gobreaker.StateOpen:
		return Open
	case gobreaker.StateHalfOpen:
		return HalfOpen
	default:
		return Closed
	}
}

// Settings are the thresholds every breaker uses (BREAKER_* variables).
type Settings struct {
	// FailureThreshold consecutive failures open the breaker.
	FailureThreshold int
	// OpenTimeout is how long an open breaker refuses calls before trying again.
	OpenTimeout time.Duration
	// HalfOpenMaxCalls trial calls may run at once while half-open; that many
	// consecutive successes close the breaker, one failure opens it again.
	HalfOpenMaxCalls int
}

func (s Settings) validate() error {
	if s.FailureThreshold < 1 || s.OpenTimeout <= 0 || s.HalfOpenMaxCalls < 1 {
		return fmt.Errorf("breaker: invalid settings %+v (threshold and half-open calls at least 1, open timeout above 0)", s)
	}
	return nil
}

// Classifier reports whether an error a call returned means that the
// dependency failed (counted towards opening the breaker). Other errors are
// answers of a working dependency (a missing key, a constraint violation)
// and count as successes.
type Classifier func(err error) bool

// Status is a breaker as GET /circuit-breakers shows it. The totals count
// from process start and survive resets; ConsecutiveFailures is gobreaker's
// own count, cleared on every state change.
type Status struct {
	Name                string
	State               State
	ConsecutiveFailures uint32
	// TotalRequests counts every call that asked the breaker: successes,
	// failures, rejections and calls whose caller went away before the end.
	TotalRequests  uint64
	TotalFailures  uint64
	TotalSuccesses uint64
	// TotalRejected counts calls refused without reaching the dependency.
	TotalRejected   uint64
	LastStateChange time.Time
}

// The outcomes reported to gobreaker after a call.
var (
	errFailed   = errors.New("breaker: the dependency failed")
	errExcluded = errors.New("breaker: outcome not counted")
)

// Breaker guards one dependency. The gobreaker object behind it is replaced
// as a whole on reset (gobreaker has no public reset); lifetime counters live
// here, beside it.
type Breaker struct {
	name      string
	isFailure Classifier
	settings  Settings
	events    *events

	mu sync.Mutex // serializes resets
	cb atomic.Pointer[gobreaker.TwoStepCircuitBreaker[any]]

	lastChange atomic.Int64 // Unix nanoseconds
	requests   atomic.Uint64
	successes  atomic.Uint64
	failures   atomic.Uint64
	rejected   atomic.Uint64
}

func newBreaker(name string, isFailure Classifier, s Settings, ev *events) *Breaker {
	b := &Breaker{name: name, isFailure: isFailure, settings: s, events: ev}
	b.lastChange.Store(ev.now().UnixNano())
	b.cb.Store(b.newCircuit())
	return b
}

// newCircuit builds a fresh closed gobreaker. State changes of a circuit that
// a reset has replaced are not reported.
func (b *Breaker) newCircuit() *gobreaker.TwoStepCircuitBreaker[any] {
	var self *gobreaker.TwoStepCircuitBreaker[any]
	self = gobreaker.NewTwoStepCircuitBreaker[any](gobreaker.Settings{
		Name:        b.name,
		MaxRequests: uint32(b.settings.HalfOpenMaxCalls), // #nosec G115 -- config bounds it to 1..1000
		Timeout:     b.settings.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= uint32(b.settings.FailureThreshold) // #nosec G115 -- config bounds it to 1..1000
		},
		IsExcluded: func(err error) bool { return errors.Is(err, errExcluded) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			// Runs under gobreaker's lock: only record, never call back into it.
			if b.cb.Load() == self {
				b.changed(stateOf(from), stateOf(to))
			}
		},
	})
	return self
}

// changed records a state change: time, metric, log.
func (b *Breaker) changed(from, to State) {
	b.lastChange.Store(b.events.now().UnixNano())
	b.events.transition(b, from, to)
}

// Name is the breaker's name.
func (b *Breaker) Name() string { return b.name }

// Allow asks for one call to the dependency. When the breaker refuses, the
// error is a 503 service.unavailable and the dependency must not be called.
// Otherwise done must be called exactly once with the call's error (nil on
// success). A call whose ctx was cancelled is not counted either way.
func (b *Breaker) Allow(ctx context.Context) (done func(err error), err error) {
	b.requests.Add(1)
	report, err := b.cb.Load().Allow()
	if err != nil {
		b.rejected.Add(1)
		return nil, b.refusal(err)
	}
	var once sync.Once
	return func(err error) {
		once.Do(func() { report(b.outcome(ctx, err)) })
	}, nil
}

// Do runs call through the breaker: refused at once while open, counted
// otherwise. It fits ratelimit.Guard.
func (b *Breaker) Do(ctx context.Context, call func(ctx context.Context) error) error {
	done, err := b.Allow(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			// A panic says nothing about the dependency; free the slot.
			done(context.Canceled)
			panic(r)
		}
	}()
	err = call(ctx)
	done(err)
	return err
}

// outcome classifies a finished call for gobreaker and the lifetime counters.
func (b *Breaker) outcome(ctx context.Context, err error) error {
	switch {
	case err == nil:
		b.successes.Add(1)
		return nil
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		// The caller went away: that says nothing about the dependency.
		return errExcluded
	case b.isFailure(err):
		b.failures.Add(1)
		return errFailed
	default:
		b.successes.Add(1)
		return nil
	}
}

// failed reports whether err means the dependency failed.
func (b *Breaker) failed(err error) bool { return err != nil && b.isFailure(err) }

// refusal is the 503 of a refused call.
func (b *Breaker) refusal(cause error) error {
	msg := fmt.Sprintf("the %s dependency is unavailable (circuit breaker open); retry shortly", b.name)
	state := Open
	if errors.Is(cause, gobreaker.ErrTooManyRequests) {
		msg = fmt.Sprintf("the %s dependency is recovering (circuit breaker half-open); retry shortly", b.name)
		state = HalfOpen
	}
	return errs.Wrap(errs.CodeUnavailable, msg, cause).
		WithDetails(map[string]any{"breaker": b.name, "state": string(state)})
}

// State is the breaker's current state (an open breaker whose timeout has
// passed turns half-open here).
func (b *Breaker) State() State { return stateOf(b.cb.Load().State()) }

// Status is a snapshot of the breaker.
func (b *Breaker) Status() Status {
	cb := b.cb.Load()
	state := stateOf(cb.State())
	return Status{
		Name:                b.name,
		State:               state,
		ConsecutiveFailures: cb.Counts().ConsecutiveFailures,
		TotalRequests:       b.requests.Load(),
		TotalFailures:       b.failures.Load(),
		TotalSuccesses:      b.successes.Load(),
		TotalRejected:       b.rejected.Load(),
		LastStateChange:     time.Unix(0, b.lastChange.Load()).UTC(),
	}
}

// reset replaces the circuit with a fresh closed one and returns the state
// it had. Calls in flight report to the old circuit, which nobody reads.
func (b *Breaker) reset() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := b.cb.Swap(b.newCircuit())
	from := stateOf(old.State())
	if from != Closed {
		b.changed(from, Closed)
	}
	b.events.reset(b, from)
	return from
}
