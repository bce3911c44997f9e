package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the gateway. No tenant label: tenants are unbounded, and
// per-tenant figures come from GET /api/v1/usage.
type metrics struct {
	requests *prometheus.CounterVec
	tokens   *prometheus.CounterVec
	cost     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	ttft     *prometheus.HistogramVec
	// earlyStarts counts the calls whose provider call started beside
	// their reservation, by how the reservation ended: "refused" ones were
	// cancelled upstream (their cost, if any, is the platform's).
	earlyStarts *prometheus.CounterVec
}

func newMetrics(r prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llm_requests_total", Help: "Calls through the LLM gateway by model, provider and outcome (ok, error, unavailable, rate_limited, tokens_limited, budget_insufficient, replayed, cancelled).",
		}, []string{"model", "provider", "status"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llm_tokens_total", Help: "Tokens used through the LLM gateway by model and kind (prompt, completion).",
		}, []string{"model", "kind"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llm_cost_usd_total", Help: "Cost of the calls through the LLM gateway in US dollars, from the price table.",
		}, []string{"model"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "llm_request_duration_seconds", Help: "Duration of LLM gateway calls, from the request to the last byte.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"model"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "llm_time_to_first_token_seconds", Help: "Time from the request to the first chunk of a streamed LLM gateway call.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"model"}),
		earlyStarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llm_early_starts_total", Help: "LLM gateway calls whose provider call started beside their reservation (LLM_EARLY_START), by the reservation's outcome (reserved, refused: the provider call was cancelled).",
		}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.tokens, m.cost, m.duration, m.ttft, m.earlyStarts} {
		if err := r.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observe counts one finished call.
func (m *metrics) observe(model Model, status string, u Usage, cost float64, took, ttft time.Duration) {
	m.requests.WithLabelValues(model.Name, model.Provider, status).Inc()
	m.duration.WithLabelValues(model.Name).Observe(took.Seconds())
	if u.PromptTokens > 0 {
		m.tokens.WithLabelValues(model.Name, "prompt").Add(float64(u.PromptTokens))
	}
	if u.CompletionTokens > 0 {
		m.tokens.WithLabelValues(model.Name, "completion").Add(float64(u.CompletionTokens))
	}
	if cost > 0 {
		m.cost.WithLabelValues(model.Name).Add(cost)
	}
	if ttft > 0 {
		m.ttft.WithLabelValues(model.Name).Observe(ttft.Seconds())
	}
}
