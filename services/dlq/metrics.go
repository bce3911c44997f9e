package dlq

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the DLQ's Prometheus series. The counters count what this
// replica did; dlq_unresolved is the global number of unresolved rows, kept
// from the database (refreshed periodically, nudged on each ingest and
// resolve), so every replica reports the same value and scraping never
// touches the database.
type Metrics struct {
	ingested   prometheus.Counter
	resolved   prometheus.Counter
	requeued   prometheus.Counter
	unresolved atomic.Int64
}

// NewMetrics registers the DLQ series on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		ingested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dlq_ingested_total", Help: "DLQ messages stored by this replica (redeliveries not counted).",
		}),
		resolved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dlq_resolved_total", Help: "DLQ messages resolved through this replica, requeued or not.",
		}),
		requeued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dlq_requeued_total", Help: "DLQ messages republished to their original subject through this replica.",
		}),
	}
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "dlq_unresolved", Help: "Unresolved DLQ messages in the database (all replicas).",
	}, func() float64 { return float64(m.unresolved.Load()) })
	for _, c := range []prometheus.Collector{m.ingested, m.resolved, m.requeued, gauge} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) addIngested(n int64) {
	m.ingested.Add(float64(n))
	m.unresolved.Add(n)
}

func (m *Metrics) addResolved(requeued bool) {
	m.resolved.Inc()
	if requeued {
		m.requeued.Inc()
	}
	if m.unresolved.Add(-1) < 0 {
		m.unresolved.Store(0)
	}
}

func (m *Metrics) setUnresolved(n int64) { m.unresolved.Store(n) }
