package auth_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/golden-architecture/control-plane/services/auth"
)

// TestRolesMatchDesign pins the role → permission table to DESIGN §4 and the
// three permissions of §7, written out here independently of rbac.go.
func TestRolesMatchDesign(t *testing.T) {
	want := map[auth.Role][]string{
		auth.RoleAdmin: {"escalation.view", "escalation.resolve", "escalation.create", "task.create", "task.update",
			"task.delete", "task.view", "agent.configure", "agent.view", "budget.view", "budget.configure",
			"learning.approve", "learning.view", "dlq.read", "dlq.resolve", "system.admin", "metrics.view",
			"budget.spend", "key.manage", "user.manage"},
		auth.RoleOperator: {"escalation.view", "escalation.resolve", "task.create", "task.update", "task.view",
			"agent.view", "budget.view", "dlq.read", "learning.view", "metrics.view", "budget.spend", "key.manage"},
		auth.RoleDeveloper: {"task.create", "task.update", "task.view", "agent.view", "metrics.view", "budget.spend"},
		auth.RoleObserver:  {"task.view", "agent.view", "metrics.view"},
		auth.RoleAnonymous: {},
	}
	// The admin role holds every permission there is.
	all := auth.PermissionsOf(auth.RoleAdmin)
	got := map[auth.Role][]string{}
	for _, r := range auth.Roles() {
		got[r] = []string{}
		for _, p := range all {
			if r.Has(p) {
				got[r] = append(got[r], string(p))
			}
		}
	}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("role permissions (-DESIGN +rbac.go):\n%s", diff)
	}
	if n := len(all); n != 20 {
		t.Errorf("%d permissions, want 20", n)
	}
	for _, s := range []string{"admin", "operator", "developer", "observer"} {
		if _, ok := auth.ParseRole(s); !ok {
			t.Errorf("ParseRole(%q) refused", s)
		}
	}
	for _, s := range []string{"anonymous", "root", "", "Admin"} {
		if _, ok := auth.ParseRole(s); ok {
			t.Errorf("ParseRole(%q) accepted", s)
		}
	}
}
