package budget

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of POST /budget/request, the label of budget_requests_total.
const (
	outcomeApproved     = "approved"
	outcomeInsufficient = "insufficient"
	outcomeReplayed     = "replayed"
)

// Kinds of batch, the label of budget_batch_size.
const (
	batchReserve = "reserve"
	batchSettle  = "settle"
)

type metrics struct {
	batchSize *prometheus.HistogramVec
	requests  *prometheus.CounterVec
	commits   prometheus.Counter
	releases  prometheus.Counter
	expired   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "budget_batch_size",
			Help:    "Calls served by one budget transaction, by kind: reserve (requests) or settle (commits and releases). Calls that arrive while a transaction of their kind runs share the next one.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
		}, []string{"kind"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "budget_requests_total",
			Help: "Budget reservation requests by outcome: approved, insufficient, replayed (an idempotent retry answered from the stored reservation).",
		}, []string{"status"}),
		commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "budget_commits_total", Help: "Reservations committed (settled with actual tokens).",
		}),
		releases: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "budget_releases_total", Help: "Reservations released by their caller.",
		}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "budget_expired_total", Help: "Pending reservations expired by the sweeper of this replica.",
		}),
	}
	for _, o := range []string{outcomeApproved, outcomeInsufficient, outcomeReplayed} {
		m.requests.WithLabelValues(o)
	}
	for _, k := range []string{batchReserve, batchSettle} {
		m.batchSize.WithLabelValues(k)
	}
	for _, c := range []prometheus.Collector{m.batchSize, m.requests, m.commits, m.releases, m.expired} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("budget: register metrics: %w", err)
		}
	}
	return m, nil
}
