package review

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the review service's Prometheus series: reviews_total counts
// the sessions this replica decided, by outcome (completed, failed).
type metrics struct {
	decided *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{decided: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "reviews_total",
		Help: "Peer review sessions decided by this replica, by outcome (completed, failed).",
	}, []string{"outcome"})}
	for _, o := range []Status{StatusCompleted, StatusFailed} {
		m.decided.WithLabelValues(string(o))
	}
	if err := reg.Register(m.decided); err != nil {
		return nil, fmt.Errorf("review: register metrics: %w", err)
	}
	return m, nil
}

func (m *metrics) outcome(s Status) { m.decided.WithLabelValues(string(s)).Inc() }
