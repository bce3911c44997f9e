// Package metrictest reads what a metric counted, for tests that assert
// it: one sample of a Prometheus gatherer by name and labels.
package metrictest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Value is the value of the counter or gauge name whose sample has every
// label of labels (nil matches the first sample). It is 0 when there is no
// such sample: a vector's label set appears only once it was counted.
func Value(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	m := Sample(t, g, name, labels)
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return m.GetGauge().GetValue() // 0 for a nil sample
}

// Sample is the sample of name whose labels include labels (nil matches the
// first), of any metric type; nil when there is none.
func Sample(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if Has(m, labels) {
				return m
			}
		}
	}
	return nil
}

// Has reports whether a sample carries every label of want.
func Has(m *dto.Metric, want map[string]string) bool {
	got := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}
