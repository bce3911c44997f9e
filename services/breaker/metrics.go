package breaker

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// events is where breakers report state changes and resets: the log and the
// metrics of the registry.
type events struct {
	log         *slog.Logger
	now         func() time.Time
	transitions *prometheus.CounterVec
	resets      prometheus.Counter
}

// transition counts and logs a state change; an opening is a warning.
func (e *events) transition(b *Breaker, from, to State) {
	e.transitions.WithLabelValues(b.name, string(from), string(to)).Inc()
	attrs := []any{slog.String("breaker", b.name), slog.String("from", string(from)), slog.String("to", string(to))}
	if to == Open {
		e.log.Warn("circuit breaker opened: calls to the dependency are refused until the open timeout passes",
			append(attrs, slog.Int("failure_threshold", b.settings.FailureThreshold),
				slog.Int64("open_timeout_ms", b.settings.OpenTimeout.Milliseconds()))...)
		return
	}
	e.log.Info("circuit breaker state changed", attrs...)
}

// reset logs a reset.
func (e *events) reset(b *Breaker, from State) {
	e.log.Info("circuit breaker reset", slog.String("breaker", b.name), slog.String("was", string(from)))
}

// stateValue is the value of circuit_breaker_state: 0 closed, 1 half-open, 2 open.
func stateValue(s State) float64 {
	switch s {
	case HalfOpen:
		return 1
	case Open:
		return 2
	default:
		return 0
	}
}

// stateCollector reads every breaker's state at scrape time, so the gauge
// always agrees with GET /circuit-breakers (an open breaker whose timeout has
// passed reads half-open in both).
type stateCollector struct {
	reg  *Registry
	desc *prometheus.Desc
}

func newStateCollector(reg *Registry) *stateCollector {
	return &stateCollector{reg: reg, desc: prometheus.NewDesc("circuit_breaker_state",
		"State of each circuit breaker: 0 closed, 1 half-open, 2 open.", []string{"name"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	for _, b := range c.reg.all() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, stateValue(b.State()), b.name)
	}
}

// newEvents registers the breaker metrics on r.
func newEvents(r prometheus.Registerer, reg *Registry, log *slog.Logger, now func() time.Time) (*events, error) {
	e := &events{
		log: log,
		now: now,
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "circuit_breaker_transitions_total",
			Help: "State changes of each circuit breaker, by from and to state (resets included).",
		}, []string{"name", "from", "to"}),
		resets: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "breaker_resets_total",
			Help: "Circuit breakers reset by operator requests served by this replica.",
		}),
	}
	for _, c := range []prometheus.Collector{e.transitions, e.resets, newStateCollector(reg)} {
		if err := r.Register(c); err != nil {
			return nil, err
		}
	}
	return e, nil
}
