package work

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/golden-architecture/control-plane/models"
)

// metrics are the work resources' Prometheus series. tasks_total counts the
// transitions this replica made, by the state entered (pending counts
// creations); escalations_open is the number of open escalations of every
// tenant in the database, refreshed by Refresher and nudged on each open and
// resolve, so every replica reports about the same value and a scrape never
// touches the database.
type metrics struct {
	transitions *prometheus.CounterVec
	open        atomic.Int64
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tasks_total",
		Help: "Task transitions made by this replica, by the state entered (pending: tasks created).",
	}, []string{"state"})}
	for _, s := range States {
		m.transitions.WithLabelValues(string(s))
	}
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "escalations_open", Help: "Open (unresolved) escalations in the database, all tenants and replicas.",
	}, func() float64 { return float64(m.open.Load()) })
	for _, c := range []prometheus.Collector{m.transitions, gauge} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("work: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) entered(s State) { m.transitions.WithLabelValues(string(s)).Inc() }

func (m *metrics) opened() { m.open.Add(1) }

func (m *metrics) resolved() {
	if m.open.Add(-1) < 0 {
		m.open.Store(0)
	}
}

// RefreshOpen sets escalations_open from the database.
func (s *Service) RefreshOpen(ctx context.Context) error {
	var n int64
	if err := s.db.WithContext(ctx).Model(&models.Escalation{}).Where("resolved_at IS NULL").Count(&n).Error; err != nil {
		return fmt.Errorf("work: count open escalations: %w", err)
	}
	s.metrics.open.Store(n)
	return nil
}

// Refresher keeps escalations_open in step with the database (other
// replicas open and resolve escalations too): once at start, then every
// interval until ctx ends.
func (s *Service) Refresher(interval time.Duration, log *slog.Logger) func(ctx context.Context) {
	return func(ctx context.Context) {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			if err := s.RefreshOpen(ctx); err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "escalations_open refresh", slog.Any("error", err))
			}
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	}
}
