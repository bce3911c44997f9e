// Package auth holds who may do what: users and their passwords, tokens, login
// lockout, revocation and the role → permission table of DESIGN §4.
package auth

import (
	"slices"
	"time"
)

// Role names a set of permissions. A token carries the role; permissions are
// derived at verification, so changing the table applies to live tokens.
type Role string

// The five roles of the product.
const (
	RoleAdmin     Role = "admin"
	RoleOperator  Role = "operator"
	RoleDeveloper Role = "developer"
	RoleObserver  Role = "observer"
	RoleAnonymous Role = "anonymous"
)

// Permission is one capability checked by the permission middleware.
type Permission string

// The 17 permissions of the product.
const (
	PermEscalationView    Permission = "escalation.view"
	PermEscalationResolve Permission = "escalation.resolve"
	PermEscalationCreate  Permission = "escalation.create"
	PermTaskCreate        Permission = "task.create"
	PermTaskUpdate        Permission = "task.update"
	PermTaskDelete        Permission = "task.delete"
	PermTaskView          Permission = "task.view"
	PermAgentConfigure    Permission = "agent.configure"
	PermAgentView         Permission = "agent.view"
	PermBudgetView        Permission = "budget.view"
	PermBudgetConfigure   Permission = "budget.configure"
	PermLearningApprove   Permission = "learning.approve"
	PermLearningView      Permission = "learning.view"
	PermDLQRead           Permission = "dlq.read"
	PermDLQResolve        Permission = "dlq.resolve"
	PermSystemAdmin       Permission = "system.admin"
	PermMetricsView       Permission = "metrics.view"
)

// allPermissions lists every permission in a stable order.
var allPermissions = []Permission{
	PermEscalationView, PermEscalationResolve, PermEscalationCreate,
	PermTaskCreate, PermTaskUpdate, PermTaskDelete, PermTaskView,
	PermAgentConfigure, PermAgentView,
	PermBudgetView, PermBudgetConfigure,
	PermLearningApprove, PermLearningView,
	PermDLQRead, PermDLQResolve,
	PermSystemAdmin, PermMetricsView,
}

var rolePermissions = map[Role][]Permission{
	RoleAdmin: allPermissions,
	RoleOperator: {
		PermEscalationView, PermEscalationResolve, PermTaskCreate, PermTaskUpdate, PermTaskView,
		PermAgentView, PermBudgetView, PermDLQRead, PermLearningView, PermMetricsView,
	},
	RoleDeveloper: {PermTaskCreate, PermTaskUpdate, PermTaskView, PermAgentView, PermMetricsView},
	RoleObserver:  {PermTaskView, PermAgentView, PermMetricsView},
	RoleAnonymous: {},
}

// Roles returns the five roles, most privileged first.
func Roles() []Role {
	return []Role{RoleAdmin, RoleOperator, RoleDeveloper, RoleObserver, RoleAnonymous}
}

// ParseRole reports whether s names a role that can be given to a user
// (anonymous cannot).
func ParseRole(s string) (Role, bool) {
	r := Role(s)
	if _, ok := rolePermissions[r]; !ok || r == RoleAnonymous {
		return "", false
	}
	return r, true
}

// PermissionsOf returns a copy of the role's permissions; unknown roles have none.
func PermissionsOf(r Role) []Permission { return slices.Clone(rolePermissions[r]) }

// Has reports whether the role grants p.
func (r Role) Has(p Permission) bool { return slices.Contains(rolePermissions[r], p) }

// Identity is the verified caller of a request.
type Identity struct {
	UserID    string
	Username  string
	Role      Role
	TokenID   string
	ExpiresAt time.Time
}

// Permissions returns the identity's permissions, derived from its role.
func (id Identity) Permissions() []Permission { return PermissionsOf(id.Role) }

// Missing returns the permissions of want the identity lacks.
func (id Identity) Missing(want ...Permission) []Permission {
	var missing []Permission
	for _, p := range want {
		if !id.Role.Has(p) {
			missing = append(missing, p)
		}
	}
	return missing
}
