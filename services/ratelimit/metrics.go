package ratelimit

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the limiter's Prometheus series.
type Metrics struct {
	exceededTotal *prometheus.CounterVec
	degradedGauge prometheus.Gauge
}

// NewMetrics registers rate_limit_exceeded_total{scope} and
// rate_limit_degraded on reg. scopes are the label values created up front
// (role names and route scopes) so that dashboards see zeros.
func NewMetrics(reg prometheus.Registerer, scopes ...string) *Metrics {
	m := &Metrics{
		exceededTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rate_limit_exceeded_total",
			Help: "Requests rejected with 429, by scope: the caller's role for its role limit (RATE_LIMIT_<ROLE>), else the route scope (RATE_LIMIT_<SCOPE>).",
		}, []string{"scope"}),
		degradedGauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rate_limit_degraded",
			Help: "1 while the rate limit store fails and limits are not enforced.",
		}),
	}
	for _, s := range scopes {
		m.exceededTotal.WithLabelValues(s)
	}
	reg.MustRegister(m.exceededTotal, m.degradedGauge)
	return m
}

func (m *Metrics) exceeded(scope string) {
	if m != nil {
		m.exceededTotal.WithLabelValues(scope).Inc()
	}
}

func (m *Metrics) setDegraded(down bool) {
	if m == nil {
		return
	}
	if down {
		m.degradedGauge.Set(1)
		return
	}
	m.degradedGauge.Set(0)
}
