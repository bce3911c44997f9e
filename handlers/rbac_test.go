package handlers_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/services/auth"
)

// rbacRoute is one protected endpoint and the permission DESIGN §4 gives it.
type rbacRoute struct {
	Method string
	Path   string
	Body   any
	// Perm is the required permission; "" means any valid token.
	Perm auth.Permission
	// OK is the status of an allowed call (default 200).
	OK int
	// FreshToken logs in anew for every call (the call spends its token, like logout).
	FreshToken bool
}

// rbacRoutes is the route → permission table of the RBAC matrix. Every
// protected endpoint gets a row; an allowed call must answer OK, so give it a
// body and query that succeed on an empty database.
var rbacRoutes = []rbacRoute{
	{Method: http.MethodGet, Path: "/api/v1/auth/me"},
	{Method: http.MethodPost, Path: "/api/v1/auth/logout", FreshToken: true},
	{Method: http.MethodGet, Path: "/api/v1/audit", Perm: auth.PermSystemAdmin},
	{Method: http.MethodGet, Path: "/api/v1/audit?action=auth.login.success&limit=5", Perm: auth.PermSystemAdmin},
	{Method: http.MethodGet, Path: "/api/v1/admin/config", Perm: auth.PermSystemAdmin},
	{Method: http.MethodGet, Path: "/api/v1/stats", Perm: auth.PermMetricsView},
	{Method: http.MethodGet, Path: "/api/v1/circuit-breakers", Perm: auth.PermMetricsView},
	{Method: http.MethodPost, Path: "/api/v1/circuit-breakers/reset_all", Perm: auth.PermSystemAdmin},
	{Method: http.MethodGet, Path: "/api/v1/dlq", Perm: auth.PermDLQRead},
	{Method: http.MethodGet, Path: "/api/v1/dlq/1", Perm: auth.PermDLQRead, OK: http.StatusNotFound},
	{Method: http.MethodGet, Path: "/api/v1/budget/state?tenant_id=rbac&project_id=matrix", Perm: auth.PermBudgetView},
	{Method: http.MethodGet, Path: "/api/v1/budget/reservations", Perm: auth.PermBudgetView},
	{Method: http.MethodPost, Path: "/api/v1/budget/request", Perm: auth.PermBudgetView, Body: map[string]any{
		"tenant_id": "rbac", "project_id": "matrix", "task_id": "t1", "model": "m", "estimated_tokens": 1}},
	{Method: http.MethodPost, Path: "/api/v1/budget/commit", Perm: auth.PermBudgetView, OK: http.StatusNotFound, Body: map[string]any{
		"tenant_id": "rbac", "project_id": "matrix", "reservation_id": "00000000-0000-0000-0000-000000000000", "actual_tokens": 1}},
	{Method: http.MethodPost, Path: "/api/v1/budget/release", Perm: auth.PermBudgetView, OK: http.StatusNotFound, Body: map[string]any{
		"tenant_id": "rbac", "project_id": "matrix", "reservation_id": "00000000-0000-0000-0000-000000000000"}},
	{Method: http.MethodPut, Path: "/api/v1/budget/limits", Perm: auth.PermBudgetConfigure, Body: map[string]any{
		"tenant_id": "rbac", "project_id": "matrix", "total_limit": 1000}},
	{Method: http.MethodPost, Path: "/api/v1/dlq/00000000-0000-0000-0000-000000000000/resolve", Perm: auth.PermSystemAdmin,
		OK: http.StatusNotFound, Body: map[string]any{"note": "rbac matrix"}},
	{Method: http.MethodPost, Path: "/api/v1/circuit-breakers/database/reset", Perm: auth.PermSystemAdmin},
	{Method: http.MethodPost, Path: "/api/v1/validate/consensus", Body: map[string]any{
		"llm_response": `{"decision":"approve","confidence":1,"reasoning":"ok"}`}},
}

// TestRBACMatrix calls every row of rbacRoutes as every role and without a
// token: 401 without a token, 403 (naming the missing permission) when the
// role lacks it, OK otherwise.
func TestRBACMatrix(t *testing.T) {
	srv := testenv.Quick(t)
	roles := []string{"admin", "operator", "developer", "observer"}
	tokens := map[string]string{}
	for _, r := range roles {
		tokens[r] = srv.Token(t, r)
	}
	for _, route := range rbacRoutes {
		for _, role := range append(roles, "anonymous") {
			t.Run(fmt.Sprintf("%s %s as %s", route.Method, route.Path, role), func(t *testing.T) {
				token := tokens[role]
				if route.FreshToken && role != "anonymous" {
					token = srv.Token(t, role)
				}
				r := srv.Send(t, testenv.Request{Method: route.Method, Path: route.Path, Body: route.Body, Token: token})
				switch {
				case role == "anonymous":
					r.WantError(t, http.StatusUnauthorized, "auth.unauthorized")
				case route.Perm != "" && !auth.Role(role).Has(route.Perm):
					e := r.WantError(t, http.StatusForbidden, "auth.forbidden")
					if diff := cmp.Diff([]any{string(route.Perm)}, e.Details["missing"]); diff != "" {
						t.Errorf("details.missing (-want +got):\n%s", diff)
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
