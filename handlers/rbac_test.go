package handlers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/services/auth"
)

// rbacRoute is one protected endpoint, the permission DESIGN §4/§7 gives it,
// and whether it is platform-level (DESIGN §7: only principals bound to no
// tenant reach it, whatever their permissions).
type rbacRoute struct {
	Method string
	Path   string
	Body   any
	// Perm is the required permission; "" means any valid token.
	Perm     auth.Permission
	Platform bool
	// OK is the status of an allowed call (default 200).
	OK int
	// FreshToken logs in anew for every call (the call spends its token, like logout).
	FreshToken bool
}

// rbacRoutes is the route → permission table of the RBAC matrix. Every
// protected endpoint gets a row (TestRBACMatrixCoversEveryRoute); an allowed
// call must answer OK, so give it a body and query that succeed on an empty
// database for every principal that passes. Budget rows name the tenant
// "default": the tenant-bound principals' own, and any tenant for a
// platform principal.
var rbacRoutes = []rbacRoute{
	{Method: http.MethodGet, Path: "/api/v1/auth/me"},
	{Method: http.MethodPost, Path: "/api/v1/auth/logout", FreshToken: true},
	{Method: http.MethodGet, Path: "/api/v1/audit", Perm: auth.PermSystemAdmin, Platform: true},
	{Method: http.MethodGet, Path: "/api/v1/audit?action=auth.login.success&limit=5", Perm: auth.PermSystemAdmin, Platform: true},
	{Method: http.MethodGet, Path: "/api/v1/admin/config", Perm: auth.PermSystemAdmin, Platform: true},
	{Method: http.MethodGet, Path: "/api/v1/stats", Perm: auth.PermMetricsView},
	{Method: http.MethodGet, Path: "/api/v1/circuit-breakers", Perm: auth.PermMetricsView, Platform: true},
	{Method: http.MethodPost, Path: "/api/v1/circuit-breakers/reset_all", Perm: auth.PermSystemAdmin, Platform: true},
	{Method: http.MethodGet, Path: "/api/v1/dlq", Perm: auth.PermDLQRead, Platform: true},
	{Method: http.MethodGet, Path: "/api/v1/dlq/1", Perm: auth.PermDLQRead, Platform: true, OK: http.StatusNotFound},
	{Method: http.MethodGet, Path: "/api/v1/budget/state?tenant_id=default&project_id=matrix", Perm: auth.PermBudgetView},
	{Method: http.MethodGet, Path: "/api/v1/budget/reservations", Perm: auth.PermBudgetView},
	{Method: http.MethodPost, Path: "/api/v1/budget/request", Perm: auth.PermBudgetSpend, Body: map[string]any{
		"tenant_id": "default", "project_id": "matrix", "task_id": "t1", "model": "m", "estimated_tokens": 1}},
	{Method: http.MethodPost, Path: "/api/v1/budget/commit", Perm: auth.PermBudgetSpend, OK: http.StatusNotFound, Body: map[string]any{
		"tenant_id": "default", "project_id": "matrix", "reservation_id": "00000000-0000-0000-0000-000000000000", "actual_tokens": 1}},
	{Method: http.MethodPost, Path: "/api/v1/budget/release", Perm: auth.PermBudgetSpend, OK: http.StatusNotFound, Body: map[string]any{
		"tenant_id": "default", "project_id": "matrix", "reservation_id": "00000000-0000-0000-0000-000000000000"}},
	// The matrix's server configures no model: an allowed call is the 503
	// that names what to set (gateway_test.go covers the 200s).
	{Method: http.MethodGet, Path: "/api/v1/models", Perm: auth.PermBudgetSpend, OK: http.StatusServiceUnavailable},
	{Method: http.MethodGet, Path: "/api/v1/usage", Perm: auth.PermBudgetView},
	{Method: http.MethodPost, Path: "/api/v1/chat/completions", Perm: auth.PermBudgetSpend, OK: http.StatusServiceUnavailable,
		Body: map[string]any{"model": "fake-mini", "messages": []any{map[string]any{"role": "user", "content": "hi"}}}},
	{Method: http.MethodPut, Path: "/api/v1/budget/limits", Perm: auth.PermBudgetConfigure, Body: map[string]any{
		"tenant_id": "default", "project_id": "matrix", "total_limit": 1000}},
	{Method: http.MethodPost, Path: "/api/v1/dlq/00000000-0000-0000-0000-000000000000/resolve", Perm: auth.PermSystemAdmin, Platform: true,
		OK: http.StatusNotFound, Body: map[string]any{"note": "rbac matrix"}},
	{Method: http.MethodPost, Path: "/api/v1/circuit-breakers/database/reset", Perm: auth.PermSystemAdmin, Platform: true},
	{Method: http.MethodGet, Path: "/api/v1/tenants", Perm: auth.PermSystemAdmin, Platform: true},
	{Method: http.MethodPost, Path: "/api/v1/tenants", Perm: auth.PermSystemAdmin, Platform: true, OK: http.StatusCreated,
		Body: map[string]any{"id": "rbac-matrix"}},
	{Method: http.MethodGet, Path: "/api/v1/tenants/default", Perm: auth.PermSystemAdmin, Platform: true},
	{Method: http.MethodPatch, Path: "/api/v1/tenants/default", Perm: auth.PermSystemAdmin, Platform: true,
		Body: map[string]any{"name": "Default tenant"}},
	{Method: http.MethodGet, Path: "/api/v1/users?role=admin", Perm: auth.PermUserManage, Platform: true},
	{Method: http.MethodPost, Path: "/api/v1/users", Perm: auth.PermUserManage, Platform: true, OK: http.StatusCreated,
		Body: map[string]any{"username": "rbac-matrix", "password": "rbac-matrix-pw", "role": "observer", "tenant_id": "default"}},
	{Method: http.MethodGet, Path: "/api/v1/users/00000000-0000-0000-0000-000000000000", Perm: auth.PermUserManage, Platform: true,
		OK: http.StatusNotFound},
	{Method: http.MethodPatch, Path: "/api/v1/users/00000000-0000-0000-0000-000000000000", Perm: auth.PermUserManage, Platform: true,
		OK: http.StatusNotFound, Body: map[string]any{"disabled": true}},
	{Method: http.MethodPost, Path: "/api/v1/users/00000000-0000-0000-0000-000000000000/password", Perm: auth.PermUserManage, Platform: true,
		OK: http.StatusNotFound, Body: map[string]any{"password": "rbac-matrix-pw"}},
	// Any token may change its own password; a wrong old one is 422 (the
	// life cycle test in users_test.go covers the 200).
	{Method: http.MethodPost, Path: "/api/v1/auth/password", OK: http.StatusUnprocessableEntity,
		Body: map[string]any{"old_password": "not the password", "new_password": "rbac-matrix-pw"}},
	{Method: http.MethodPost, Path: "/api/v1/tasks", Perm: auth.PermTaskCreate, OK: http.StatusCreated,
		Body: map[string]any{"tenant_id": "default", "title": "rbac matrix"}},
	{Method: http.MethodGet, Path: "/api/v1/tasks", Perm: auth.PermTaskView},
	{Method: http.MethodGet, Path: "/api/v1/tasks/" + noSuchID, Perm: auth.PermTaskView, OK: http.StatusNotFound},
	{Method: http.MethodGet, Path: "/api/v1/tasks/" + noSuchID + "/events", Perm: auth.PermTaskView, OK: http.StatusNotFound},
	{Method: http.MethodPatch, Path: "/api/v1/tasks/" + noSuchID, Perm: auth.PermTaskUpdate, OK: http.StatusNotFound,
		Body: map[string]any{"state": "running"}},
	{Method: http.MethodDelete, Path: "/api/v1/tasks/" + noSuchID, Perm: auth.PermTaskDelete, OK: http.StatusNotFound},
	// An invalid role: every principal allowed passes the guard and is
	// refused by the validation (a valid body would create the agent once
	// and be 409 for the next principal).
	{Method: http.MethodPost, Path: "/api/v1/agents", Perm: auth.PermAgentConfigure, OK: http.StatusUnprocessableEntity,
		Body: map[string]any{"tenant_id": "default", "id": "rbac-agent", "role": "wizard"}},
	{Method: http.MethodGet, Path: "/api/v1/agents", Perm: auth.PermAgentView},
	{Method: http.MethodGet, Path: "/api/v1/agents/rbac-none?tenant_id=default", Perm: auth.PermAgentView, OK: http.StatusNotFound},
	{Method: http.MethodPatch, Path: "/api/v1/agents/rbac-none?tenant_id=default", Perm: auth.PermAgentConfigure, OK: http.StatusNotFound,
		Body: map[string]any{"status": "paused"}},
	{Method: http.MethodPost, Path: "/api/v1/escalations", Perm: auth.PermEscalationCreate, OK: http.StatusNotFound,
		Body: map[string]any{"task_id": noSuchID, "reason": "rbac matrix", "pattern_type": "skill_gap"}},
	{Method: http.MethodGet, Path: "/api/v1/escalations", Perm: auth.PermEscalationView},
	{Method: http.MethodGet, Path: "/api/v1/escalations/" + noSuchID, Perm: auth.PermEscalationView, OK: http.StatusNotFound},
	{Method: http.MethodPost, Path: "/api/v1/escalations/" + noSuchID + "/resolve", Perm: auth.PermEscalationResolve, OK: http.StatusNotFound,
		Body: map[string]any{"resolution": "rbac matrix"}},
	{Method: http.MethodPost, Path: "/api/v1/reviews", Perm: auth.PermTaskUpdate, OK: http.StatusNotFound,
		Body: map[string]any{"task_id": noSuchID, "agents": []any{map[string]any{"agent_id": "rbac-none", "weight": 1}}}},
	{Method: http.MethodGet, Path: "/api/v1/reviews", Perm: auth.PermTaskView},
	{Method: http.MethodGet, Path: "/api/v1/reviews/" + noSuchID, Perm: auth.PermTaskView, OK: http.StatusNotFound},
	{Method: http.MethodPost, Path: "/api/v1/reviews/" + noSuchID + "/votes", Perm: auth.PermTaskUpdate, OK: http.StatusNotFound,
		Body: map[string]any{"agent_id": "rbac-none", "vote": "approve"}},
	{Method: http.MethodPost, Path: "/api/v1/keys", Perm: auth.PermKeyManage, OK: http.StatusCreated, Body: map[string]any{
		"name": "rbac matrix", "role": "observer", "tenant_id": "default"}},
	{Method: http.MethodGet, Path: "/api/v1/keys", Perm: auth.PermKeyManage},
	{Method: http.MethodGet, Path: "/api/v1/keys/00000000-0000-0000-0000-000000000000", Perm: auth.PermKeyManage, OK: http.StatusNotFound},
	{Method: http.MethodDelete, Path: "/api/v1/keys/00000000-0000-0000-0000-000000000000", Perm: auth.PermKeyManage, OK: http.StatusNotFound},
	{Method: http.MethodPost, Path: "/api/v1/keys/00000000-0000-0000-0000-000000000000/rotate", Perm: auth.PermKeyManage,
		OK: http.StatusNotFound, Body: map[string]any{"grace_seconds": 0}},
	{Method: http.MethodGet, Path: "/api/v1/prompts?agent_role=developer", Perm: auth.PermLearningView},
	{Method: http.MethodGet, Path: "/api/v1/learning/governance?tenant_id=default", Perm: auth.PermLearningView},
	{Method: http.MethodGet, Path: "/api/v1/learning/stats?tenant_id=default", Perm: auth.PermLearningView},
	{Method: http.MethodPut, Path: "/api/v1/learning/governance/tester", Perm: auth.PermLearningApprove, Body: map[string]any{
		"tenant_id": "default", "max_updates_per_day": 5, "cooldown_hours": 2, "require_human_approval": false}},
	// An invalid role, as for POST /agents: a valid proposal would be
	// refused by the cooldown for the next principal.
	{Method: http.MethodPost, Path: "/api/v1/learning/proposals", Perm: auth.PermAgentConfigure, OK: http.StatusUnprocessableEntity,
		Body: map[string]any{"tenant_id": "default", "agent_role": "wizard", "prompt_text": "p", "learned_from_pattern": "rbac"}},
	{Method: http.MethodPost, Path: "/api/v1/learning/proposals/" + noSuchID + "/approve", Perm: auth.PermLearningApprove, OK: http.StatusNotFound},
	{Method: http.MethodPost, Path: "/api/v1/learning/proposals/" + noSuchID + "/reject", Perm: auth.PermLearningApprove, OK: http.StatusNotFound,
		Body: map[string]any{"reason": "rbac matrix"}},
	{Method: http.MethodPost, Path: "/api/v1/validate/consensus", Body: map[string]any{
		"llm_response": `{"decision":"approve","confidence":1,"reasoning":"ok"}`}},
	{Method: http.MethodPost, Path: "/api/v1/validate/patterns", Body: map[string]any{
		"llm_response": `[{"pattern_type":"skill_gap","root_cause":"no tests","suggested_fix":"add tests","confidence":0.5}]`}},
	{Method: http.MethodPost, Path: "/api/v1/validate/synthesis", Body: map[string]any{
		"llm_response": `{"synthesis_reasoning":"two agents disagree on retries","action_plan":[{"priority":1,"type":"FIX","issue":"retries","agent":"worker"}]}`}},
}

// noSuchID is a well-formed id that names no task, escalation or review.
const noSuchID = "00000000-0000-0000-0000-000000000000"

// rbacPrincipal is a caller of the matrix: a role, bound to a tenant or not.
type rbacPrincipal struct {
	name, username, role, tenant string
}

// rbacPrincipals are the demo users (admin is the platform principal, the
// others are bound to the default tenant) and an admin bound to a tenant.
var rbacPrincipals = []rbacPrincipal{
	{name: "platform admin", username: "admin", role: "admin"},
	{name: "tenant admin", username: "tenant-admin", role: "admin", tenant: "default"},
	{name: "operator", username: "operator", role: "operator", tenant: "default"},
	{name: "developer", username: "developer", role: "developer", tenant: "default"},
	{name: "observer", username: "observer", role: "observer", tenant: "default"},
	{name: "anonymous"},
}

// TestRBACMatrix calls every row of rbacRoutes as every principal: 401
// without a token, 403 naming the missing permission when the role lacks it,
// 403 naming the tenant when a tenant-bound principal calls a platform-level
// route, OK otherwise.
func TestRBACMatrix(t *testing.T) {
	srv := testenv.Quick(t)
	tokens := map[string]string{}
	login := func(t *testing.T, p rbacPrincipal) string {
		if p.username == "tenant-admin" {
			return srv.Login(t, p.username, testPassword)
		}
		return srv.Token(t, p.username)
	}
	addUser(t, srv, "tenant-admin", auth.RoleAdmin, "default")
	for _, p := range rbacPrincipals {
		if p.role != "" {
			tokens[p.name] = login(t, p)
		}
	}
	for _, route := range rbacRoutes {
		for _, p := range rbacPrincipals {
			t.Run(fmt.Sprintf("%s %s as %s", route.Method, route.Path, p.name), func(t *testing.T) {
				token := tokens[p.name]
				if route.FreshToken && p.role != "" {
					token = login(t, p)
				}
				r := srv.Send(t, testenv.Request{Method: route.Method, Path: route.Path, Body: route.Body, Token: token})
				switch {
				case p.role == "":
					r.WantError(t, http.StatusUnauthorized, "auth.unauthorized")
				case route.Perm != "" && !auth.Role(p.role).Has(route.Perm):
					e := r.WantError(t, http.StatusForbidden, "auth.forbidden")
					if diff := cmp.Diff([]any{string(route.Perm)}, e.Details["missing"]); diff != "" {
						t.Errorf("details.missing (-want +got):\n%s", diff)
					}
				case route.Platform && p.tenant != "":
					e := r.WantError(t, http.StatusForbidden, "auth.forbidden")
					if e.Details["tenant_id"] != p.tenant || !strings.Contains(e.Message, "platform-level") {
						t.Errorf("403 of a platform-level route = %q %v; want it to say so and name tenant %s", e.Message, e.Details, p.tenant)
					}
				default:
					want := route.OK
					if want == 0 {
						want = http.StatusOK
					}
					r.WantStatus(t, want)
				}
			})
		}
	}
}

// TestRBACMatrixCoversEveryRoute wants a row of rbacRoutes for every
// authenticated /api/v1 route the router serves.
func TestRBACMatrixCoversEveryRoute(t *testing.T) {
	srv := testenv.Quick(t)
	public := map[string]bool{"POST /api/v1/auth/login": true}
	for _, r := range routes(t, srv) {
		method, pattern, _ := strings.Cut(r, " ")
		if !strings.HasPrefix(pattern, "/api/v1/") || public[r] {
			continue
		}
		covered := false
		for _, row := range rbacRoutes {
			path, _, _ := strings.Cut(row.Path, "?")
			covered = covered || (row.Method == method && matchesPattern(pattern, path))
		}
		if !covered {
			t.Errorf("%s has no row in rbacRoutes", r)
		}
	}
}

// matchesPattern reports whether path fits a route pattern of routes(), whose
// {param} segments match any one segment.
func matchesPattern(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if !strings.HasPrefix(ps[i], "{") && ps[i] != xs[i] {
			return false
		}
	}
	return true
}

// unguarded are the permissions no route checks yet, each with the reason.
// Remove an entry when its routes land.
var unguarded = map[auth.Permission]string{
	auth.PermDLQResolve: "POST /dlq/{id}/resolve needs system.admin, as the seed says",
}

// TestEveryPermissionGuardsARoute: /auth/me promises no power that guards
// nothing. Every permission of the admin (who has all) guards at least one
// row of the matrix, but those in unguarded.
func TestEveryPermissionGuardsARoute(t *testing.T) {
	guarded := map[auth.Permission]bool{}
	for _, r := range rbacRoutes {
		guarded[r.Perm] = true
	}
	for _, p := range auth.PermissionsOf(auth.RoleAdmin) {
		if _, pending := unguarded[p]; !guarded[p] && !pending {
			t.Errorf("permission %s guards no route of rbacRoutes", p)
		}
	}
}
