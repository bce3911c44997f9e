package app_test

import (
	"strings"
	"testing"

	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/services/tenants"
)

// TestDefaultTenantFollowsTheTenantRule: config (a leaf) checks DEFAULT_TENANT
// with its own copy of the tenant id rule; it must accept exactly the ids
// services/tenants does.
func TestDefaultTenantFollowsTheTenantRule(t *testing.T) {
	for _, id := range []string{"default", "acme", "team-7_b", "0", strings.Repeat("a", 64), strings.Repeat("a", 65),
		"Default", "my team", "-x", "_x", "a.b", "a/b", "ä"} {
		_, err := config.Load(func(k string) string {
			if k == "DEFAULT_TENANT" {
				return id
			}
			return ""
		})
		if accepted := err == nil; accepted != tenants.ValidID(id) {
			t.Errorf("DEFAULT_TENANT=%q: config accepts %v, tenants.ValidID %v", id, accepted, tenants.ValidID(id))
		}
	}
}
