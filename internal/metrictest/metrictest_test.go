package metrictest_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/golden-architecture/control-plane/internal/metrictest"
)

func TestValue(t *testing.T) {
	reg := prometheus.NewRegistry()
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "calls_total", Help: "h"}, []string{"model", "status"})
	depth := prometheus.NewGauge(prometheus.GaugeOpts{Name: "depth", Help: "h"})
	reg.MustRegister(calls, depth)
	calls.WithLabelValues("a", "ok").Add(3)
	calls.WithLabelValues("b", "ok").Add(5)
	depth.Set(7)
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"calls_total", map[string]string{"model": "b", "status": "ok"}, 5},
		{"calls_total", map[string]string{"model": "a"}, 3},
		{"calls_total", map[string]string{"status": "error"}, 0},
		{"depth", nil, 7},
		{"absent_total", nil, 0},
	} {
		if got := metrictest.Value(t, reg, tt.name, tt.labels); got != tt.want {
			t.Errorf("Value(%s, %v) = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
}
