package learning

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/golden-architecture/control-plane/services/work"
)

// metrics are the learning service's Prometheus series:
// learning_proposals_total counts this replica's decisions on proposals by
// role and decision (auto_approved, pending_review and refused when
// proposed; human_approved and rejected when a human decides).
type metrics struct {
	proposals *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{proposals: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "learning_proposals_total",
		Help: "Decisions on learned prompt proposals made by this replica, by agent role and decision.",
	}, []string{"role", "decision"})}
	for _, r := range work.AgentRoles {
		for _, d := range []string{string(StatusAutoApproved), string(StatusPendingReview), DecisionRefused, string(StatusHumanApproved), string(StatusRejected)} {
			m.proposals.WithLabelValues(string(r), d)
		}
	}
	if err := reg.Register(m.proposals); err != nil {
		return nil, fmt.Errorf("learning: register metrics: %w", err)
	}
	return m, nil
}

func (m *metrics) decided(r work.AgentRole, decision string) {
	m.proposals.WithLabelValues(string(r), decision).Inc()
}
