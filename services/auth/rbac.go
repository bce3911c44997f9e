// Package auth holds who may do what: users and their passwords, tokens, login
// lockout, revocation and the role → permission table of DESIGN §4 and §7.
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

// The 20 permissions of the product: the seed's 17 and the three of DESIGN §7
// (budget.spend, key.manage, user.manage).
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
	// PermBudgetSpend reserves, commits and releases tokens (budget.view
	// only reads budgets).
	PermBudgetSpend     Permission = "budget.spend"
	PermLearningApprove Permission = "learning.approve"
	PermLearningView    Permission = "learning.view"
	PermDLQRead         Permission = "dlq.read"
	PermDLQResolve      Permission = "dlq.resolve"
	PermSystemAdmin     Permission = "system.admin"
	PermMetricsView     Permission = "metrics.view"
	// PermKeyManage manages API keys: an admin anywhere, an operator inside
	// its own tenant.
	PermKeyManage Permission = "key.manage"
	// PermUserManage manages user accounts.
	PermUserManage Permission = "user.manage"
)

// allPermissions lists every permission in a stable order.
var allPermissions = []Permission{
	PermEscalationView, PermEscalationResolve, PermEscalationCreate,
	PermTaskCreate, PermTaskUpdate, PermTaskDelete, PermTaskView,
	PermAgentConfigure, PermAgentView,
	PermBudgetView, PermBudgetConfigure, PermBudgetSpend,
	PermLearningApprove, PermLearningView,
	PermDLQRead, PermDLQResolve,
	PermSystemAdmin, PermMetricsView,
	PermKeyManage, PermUserManage,
}

var rolePermissions = map[Role][]Permission{
	RoleAdmin: allPermissions,
	RoleOperator: {
		PermEscalationView, PermEscalationResolve, PermTaskCreate, PermTaskUpdate, PermTaskView,
		PermAgentView, PermBudgetView, PermBudgetSpend, PermDLQRead, PermLearningView, PermMetricsView,
		PermKeyManage,
	},
	RoleDeveloper: {PermTaskCreate, PermTaskUpdate, PermTaskView, PermAgentView, PermBudgetSpend, PermMetricsView},
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

// Includes reports whether r grants every permission of o: a principal of
// role r may give o (to an API key) without gaining anything.
func (r Role) Includes(o Role) bool {
	for _, p := range rolePermissions[o] {
		if !r.Has(p) {
			return false
		}
	}
	_, known := rolePermissions[o]
	return known
}

// Has reports whether the role grants p.
func (r Role) Has(p Permission) bool { return slices.Contains(rolePermissions[r], p) }

// Identity is the verified caller of a request: a principal, a user with a
// token or an API key.
type Identity struct {
	// PrincipalID is stable and unique across kinds of credential:
	// "user:<id>" or "key:<id>". Idempotency keys and audit entries are
	// scoped by it.
	PrincipalID string
	// UserID is the user of a token, or the user who created an API key.
	UserID   string
	Username string
	Role     Role
	// TenantID is the tenant the principal acts in, read from the database
	// like the role (never from a token claim); "" is a platform principal,
	// which only the admin role may be.
	TenantID  string
	TokenID   string
	ExpiresAt time.Time
	// KeyID is the API key of a key principal; "" for a user's token.
	KeyID string
	// ProjectID is the project an API key is bound to; "" when it is bound
	// to none (and always for a user's token).
	ProjectID string
	// KeyRate is an API key's own rate limit, which replaces its role's;
	// zero (Limit 0) when the key has none, and for a user's token.
	KeyRate Rate
	// KeyTokensPerMinute is an API key's limit on the LLM tokens its gateway
	// calls use per minute; 0 when it has none, and for a user's token.
	KeyTokensPerMinute int64
}

// Rate is a request limit: Limit requests per Period.
type Rate struct {
	Limit  int64
	Period time.Duration
}

// UserPrincipal is the principal id of a user account.
func UserPrincipal(userID string) string { return "user:" + userID }

// KeyPrincipal is the principal id of an API key.
func KeyPrincipal(keyID string) string { return "key:" + keyID }

// Platform reports whether the identity is a platform principal: bound to no
// tenant, it may act in any tenant and reach the platform-level endpoints.
func (id Identity) Platform() bool { return id.TenantID == "" }

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
