package health_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/services/breaker"
	"github.com/golden-architecture/control-plane/services/health"
)

type states map[string]breaker.State

func (s states) States() map[string]breaker.State { return s }

// TestCheck: a required component that is down fails the check; an optional
// one or an open breaker only degrades it.
func TestCheck(t *testing.T) {
	up := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("connection refused") }
	closed := states{"database": breaker.Closed, "nats": breaker.Closed}
	tests := []struct {
		name       string
		breakers   health.Breakers
		probes     []health.Probe
		wantStatus string
		wantOK     bool
		want       map[string]string
	}{
		{"all up", closed, []health.Probe{{Name: "database", Required: true, Ping: up}}, "ok", true,
			map[string]string{"database": "closed", "nats": "closed"}},
		{"a breaker open", states{"database": breaker.Closed, "redis": breaker.Open},
			[]health.Probe{{Name: "database", Required: true, Ping: up}}, "degraded", true,
			map[string]string{"database": "closed", "redis": "open"}},
		{"optional down", closed, []health.Probe{{Name: "redis", Ping: down}}, "degraded", true,
			map[string]string{"database": "closed", "nats": "closed"}},
		{"required down", closed, []health.Probe{{Name: "database", Required: true, Ping: down}}, "unavailable", false,
			map[string]string{"database": "closed", "nats": "closed"}},
		{"no breakers", nil, []health.Probe{{Name: "database", Required: true, Ping: up}}, "ok", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := health.New("v1", time.Second, tt.breakers, tt.probes...).Check(context.Background())
			if r.Status != tt.wantStatus || ok != tt.wantOK || r.Version != "v1" {
				t.Errorf("status %q, ok %v, version %q; want %q, %v, v1", r.Status, ok, r.Version, tt.wantStatus, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, r.Breakers); diff != "" {
				t.Errorf("breakers (-want +got):\n%s", diff)
			}
			for _, p := range tt.probes {
				if c := r.Components[p.Name]; (c.Status == "up") != (p.Ping(context.Background()) == nil) {
					t.Errorf("component %s = %+v", p.Name, c)
				}
			}
		})
	}
}
