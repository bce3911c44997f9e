// Package health measures the service's dependencies with real pings for GET
// /health and decides readiness for GET /health/ready.
package health

import (
	"context"
	"sync"
	"time"

	"github.com/golden-architecture/control-plane/services/breaker"
)

// Probe is one dependency.
type Probe struct {
	Name     string
	Mode     string // "external" or "embedded"
	Required bool   // a required component that is down makes /health 503
	Ping     func(ctx context.Context) error
}

// Component is the measured state of one dependency.
type Component struct {
	Status    string  `json:"status" enums:"up,down" example:"up"`
	Mode      string  `json:"mode" enums:"external,embedded" example:"external"`
	LatencyMS float64 `json:"latency_ms" example:"0.42"`
	Error     string  `json:"error,omitempty" example:"dial tcp 127.0.0.1:6379: connect: connection refused"`
} // @name HealthComponent

// Report is the answer of GET /health.
type Report struct {
	Status     string               `json:"status" enums:"ok,degraded,unavailable" example:"ok"`
	Version    string               `json:"version" example:"1.0.0"`
	Components map[string]Component `json:"components"`
	// Breakers maps each circuit breaker to its state: closed, half_open or
	// open. An open breaker shows as "degraded" but never fails the check by
	// itself: the pings decide.
	Breakers map[string]string `json:"breakers,omitempty"`
} // @name HealthReport

// Breakers reports the states of the circuit breakers (breaker.Registry
// implements it).
type Breakers interface {
	States() map[string]breaker.State
}

var _ Breakers = (*breaker.Registry)(nil)

// Checker pings every probe concurrently with a timeout and reports the
// breakers' states.
type Checker struct {
	probes   []Probe
	breakers Breakers
	version  string
	timeout  time.Duration
}

// New returns a checker of probes; breakers may be nil.
func New(version string, timeout time.Duration, breakers Breakers, probes ...Probe) *Checker {
	return &Checker{probes: probes, breakers: breakers, version: version, timeout: timeout}
}

// Check pings every probe. ok is false when a required one is down.
func (c *Checker) Check(ctx context.Context) (r Report, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	r = Report{Status: "ok", Version: c.version, Components: make(map[string]Component, len(c.probes))}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	ok = true
	for _, p := range c.probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			err := p.Ping(ctx)
			comp := Component{Status: "up", Mode: p.Mode, LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
			if err != nil {
				comp.Status, comp.Error = "down", err.Error()
			}
			mu.Lock()
			defer mu.Unlock()
			r.Components[p.Name] = comp
			if err != nil {
				if p.Required {
					ok = false
					r.Status = "unavailable"
				} else if r.Status == "ok" {
					r.Status = "degraded"
				}
			}
		}()
	}
	wg.Wait()
	if c.breakers != nil {
		r.addBreakers(c.breakers.States())
	}
	return r, ok
}

// addBreakers adds the circuit breakers' states to the report; any breaker
// not closed turns an "ok" status into "degraded".
func (r *Report) addBreakers(states map[string]breaker.State) {
	r.Breakers = make(map[string]string, len(states))
	for name, s := range states {
		r.Breakers[name] = string(s)
		if s != breaker.Closed && r.Status == "ok" {
			r.Status = "degraded"
		}
	}
}
