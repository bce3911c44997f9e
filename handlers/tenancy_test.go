package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/auth"
)

// tenancyServer is a server with tenants acme and globex: acme has an
// operator, a developer and an admin of its own; globex a budget with a
// pending reservation made by the platform admin.
type tenancyServer struct {
	*budgetServer
	developer, tenantAdmin string
	// globexReservation is pending in globex/p1.
	globexReservation string
}

func newTenancyServer(t *testing.T) *tenancyServer {
	t.Helper()
	// The operator is bound to acme; the gateway calls a fake provider.
	fake := testenv.NewFakeOpenAI(t)
	s := &tenancyServer{budgetServer: newBudgetServer(t, "LLM_MODELS", testenv.FakeModels, "OPENAI_BASE_URL", fake.URL()+"/v1")}
	moveUser(t, s.Server, "developer", "acme")
	s.developer = s.Token(t, "developer")
	s.tenantAdmin = addUser(t, s.Server, "acme-admin", auth.RoleAdmin, "acme")
	s.globexReservation = s.reserve(t, s.admin, "globex")
	return s
}

// reserve makes a pending reservation of 10 tokens in tenant/p1 ("" names
// no tenant) and returns its id.
func (s *tenancyServer) reserve(t *testing.T, token, tenant string) string {
	t.Helper()
	body := budgetRequestBody(tenant, 10)
	if tenant == "" {
		delete(body, "tenant_id")
	}
	return s.request(t, token, body, nil).WantStatus(t, http.StatusOK).Map(t)["reservation_id"].(string)
}

// TestTenantIsolation sends every budget route, and every work route that
// names a tenant, as every tenant-bound
// principal allowed to call it, naming its own tenant, no tenant, another
// tenant that exists, and one that does not: another tenant is 404
// resource.not_found with the same answer whether it exists or not, and
// changes nothing; the own tenant (named or implied) succeeds.
func TestTenantIsolation(t *testing.T) {
	s := newTenancyServer(t)
	type route struct {
		name   string
		perm   auth.Permission
		status int
		// send calls the route naming tenant ("" names none).
		send func(t *testing.T, token, tenant string) *testenv.Response
	}
	settle := func(path string, actual int) func(t *testing.T, token, tenant string) *testenv.Response {
		return func(t *testing.T, token, tenant string) *testenv.Response {
			// A reservation of the caller's own tenant, so that only the
			// named tenant decides the answer.
			body := map[string]any{"project_id": "p1", "reservation_id": s.reserve(t, s.admin, "acme")}
			if actual > 0 {
				body["actual_tokens"] = actual
			}
			if tenant != "" {
				body["tenant_id"] = tenant
			}
			return s.Post(t, path, token, body)
		}
	}
	query := func(path string) func(t *testing.T, token, tenant string) *testenv.Response {
		return func(t *testing.T, token, tenant string) *testenv.Response {
			p := path
			if tenant != "" {
				p += "&tenant_id=" + url.QueryEscape(tenant)
			}
			return s.Get(t, p, token)
		}
	}
	routes := []route{
		{"POST /budget/request", auth.PermBudgetSpend, http.StatusOK, func(t *testing.T, token, tenant string) *testenv.Response {
			body := budgetRequestBody(tenant, 5)
			if tenant == "" {
				delete(body, "tenant_id")
			}
			return s.request(t, token, body, nil)
		}},
		{"POST /budget/commit", auth.PermBudgetSpend, http.StatusOK, settle("/api/v1/budget/commit", 7)},
		{"POST /budget/release", auth.PermBudgetSpend, http.StatusOK, settle("/api/v1/budget/release", 0)},
		{"GET /budget/state", auth.PermBudgetView, http.StatusOK, query("/api/v1/budget/state?project_id=p1")},
		{"GET /budget/reservations", auth.PermBudgetView, http.StatusOK, query("/api/v1/budget/reservations?limit=5")},
		{"GET /usage", auth.PermBudgetView, http.StatusOK, query("/api/v1/usage?project_id=p1")},
		{"PUT /budget/limits", auth.PermBudgetConfigure, http.StatusOK, func(t *testing.T, token, tenant string) *testenv.Response {
			body := map[string]any{"project_id": "p1", "total_limit": 100_000}
			if tenant != "" {
				body["tenant_id"] = tenant
			}
			return s.Send(t, testenv.Request{Method: http.MethodPut, Path: "/api/v1/budget/limits", Token: token, Body: body})
		}},
		{"POST /chat/completions", auth.PermBudgetSpend, http.StatusOK, func(t *testing.T, token, tenant string) *testenv.Response {
			header := map[string]string{"X-Project-ID": "p1"}
			if tenant != "" {
				header["X-Tenant-ID"] = tenant
			}
			return s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: token,
				Body: chatBody(10, ""), Header: header})
		}},
		{"POST /keys", auth.PermKeyManage, http.StatusCreated, func(t *testing.T, token, tenant string) *testenv.Response {
			body := map[string]any{"name": "isolation", "role": "observer"}
			if tenant != "" {
				body["tenant_id"] = tenant
			}
			return s.Post(t, "/api/v1/keys", token, body)
		}},
		{"GET /keys", auth.PermKeyManage, http.StatusOK, query("/api/v1/keys?limit=5")},
	}
	withTenant := func(body map[string]any, tenant string) map[string]any {
		if tenant != "" {
			body["tenant_id"] = tenant
		}
		return body
	}
	agents := 0
	routes = append(routes,
		route{"POST /tasks", auth.PermTaskCreate, http.StatusCreated, func(t *testing.T, token, tenant string) *testenv.Response {
			return s.Post(t, "/api/v1/tasks", token, withTenant(map[string]any{"title": "isolation"}, tenant))
		}},
		route{"GET /tasks", auth.PermTaskView, http.StatusOK, query("/api/v1/tasks?limit=5")},
		route{"POST /agents", auth.PermAgentConfigure, http.StatusCreated, func(t *testing.T, token, tenant string) *testenv.Response {
			agents++
			return s.Post(t, "/api/v1/agents", token, withTenant(map[string]any{"id": fmt.Sprint("bot-", agents), "role": "tester"}, tenant))
		}},
		route{"GET /agents", auth.PermAgentView, http.StatusOK, query("/api/v1/agents?limit=5")},
		route{"GET /agents/{id}", auth.PermAgentView, http.StatusOK, query("/api/v1/agents/acme-bot?limit=5")},
		route{"PATCH /agents/{id}", auth.PermAgentConfigure, http.StatusOK, func(t *testing.T, token, tenant string) *testenv.Response {
			p := "/api/v1/agents/acme-bot"
			if tenant != "" {
				p += "?tenant_id=" + url.QueryEscape(tenant)
			}
			return s.Send(t, testenv.Request{Method: http.MethodPatch, Path: p, Token: token, Body: map[string]any{"metadata": map[string]any{"n": agents}}})
		}},
		route{"GET /escalations", auth.PermEscalationView, http.StatusOK, query("/api/v1/escalations?limit=5")},
		route{"GET /reviews", auth.PermTaskView, http.StatusOK, query("/api/v1/reviews?limit=5")},
		route{"GET /prompts", auth.PermLearningView, http.StatusOK, query("/api/v1/prompts?limit=5")},
		route{"GET /learning/governance", auth.PermLearningView, http.StatusOK, query("/api/v1/learning/governance?")},
		route{"GET /learning/stats", auth.PermLearningView, http.StatusOK, query("/api/v1/learning/stats?")},
		route{"PUT /learning/governance/{role}", auth.PermLearningApprove, http.StatusOK, func(t *testing.T, token, tenant string) *testenv.Response {
			return s.Send(t, testenv.Request{Method: http.MethodPut, Path: "/api/v1/learning/governance/tester", Token: token,
				Body: withTenant(map[string]any{"max_updates_per_day": 100, "cooldown_hours": 0, "require_human_approval": false}, tenant)})
		}},
		route{"POST /learning/proposals", auth.PermAgentConfigure, http.StatusCreated, func(t *testing.T, token, tenant string) *testenv.Response {
			return s.Post(t, "/api/v1/learning/proposals", token, withTenant(map[string]any{
				"agent_role": "tester", "prompt_text": "isolation", "learned_from_pattern": "isolation"}, tenant))
		}},
	)
	// acme's testers may learn as often as the proposals above ask.
	s.Send(t, testenv.Request{Method: http.MethodPut, Path: "/api/v1/learning/governance/tester", Token: s.admin,
		Body: map[string]any{"tenant_id": "acme", "max_updates_per_day": 100, "cooldown_hours": 0, "require_human_approval": false}}).WantStatus(t, http.StatusOK)
	s.Send(t, testenv.Request{Method: http.MethodPut, Path: "/api/v1/learning/governance/tester", Token: s.admin,
		Body: map[string]any{"tenant_id": "globex", "max_updates_per_day": 7, "cooldown_hours": 0, "require_human_approval": true}}).WantStatus(t, http.StatusOK)
	s.Post(t, "/api/v1/agents", s.admin, map[string]any{"tenant_id": "acme", "id": "acme-bot", "role": "developer"}).WantStatus(t, http.StatusCreated)
	s.Post(t, "/api/v1/agents", s.admin, map[string]any{"tenant_id": "globex", "id": "acme-bot", "role": "security"}).WantStatus(t, http.StatusCreated)
	globexTasks := budgetCountRows(t, s.App.DB().DB, "tasks", "tenant_id = 'globex'")
	principals := []struct {
		name, token string
		role        auth.Role
	}{
		{"operator of acme", s.operator, auth.RoleOperator},
		{"developer of acme", s.developer, auth.RoleDeveloper},
		{"admin of acme", s.tenantAdmin, auth.RoleAdmin},
	}
	globexBefore := s.state(t, "globex")
	for _, rt := range routes {
		for _, p := range principals {
			if !p.role.Has(rt.perm) {
				continue // TestRBACMatrix and TestBudgetPermissions cover the 403
			}
			for _, target := range []struct{ tenant, want string }{
				{"acme", "own"}, {"", "own"}, {"globex", "404"}, {"nowhere", "404"}, {"Not A Slug", "404"},
			} {
				t.Run(rt.name+" as "+p.name+" naming "+target.tenant, func(t *testing.T) {
					r := rt.send(t, p.token, target.tenant)
					if target.want == "own" {
						r.WantStatus(t, rt.status)
						return
					}
					e := r.WantError(t, http.StatusNotFound, "resource.not_found")
					if e.Message != `tenant "`+target.tenant+`" not found` || e.Details != nil {
						t.Errorf("404 = %q %v; want the same answer for every other tenant", e.Message, e.Details)
					}
				})
			}
		}
	}
	// Another tenant's reservation named under the caller's own tenant is
	// not found either.
	for _, path := range []string{"/api/v1/budget/commit", "/api/v1/budget/release"} {
		s.Post(t, path, s.operator, map[string]any{
			"project_id": "p1", "reservation_id": s.globexReservation, "actual_tokens": 1,
		}).WantError(t, http.StatusNotFound, "resource.not_found")
	}

	if diff := cmp.Diff(globexBefore, s.state(t, "globex")); diff != "" {
		t.Errorf("globex changed (-before +after):\n%s", diff)
	}
	if n := budgetCountRows(t, s.App.DB().DB, "tasks", "tenant_id = 'globex'"); n != globexTasks {
		t.Errorf("globex tasks %d → %d", globexTasks, n)
	}
	if n := budgetCountRows(t, s.App.DB().DB, "agents", "tenant_id = 'globex' AND role = 'security' AND metadata = '{}'"); n != 1 {
		t.Errorf("globex's agent acme-bot changed")
	}
	if n := budgetCountRows(t, s.App.DB().DB, "agent_prompts", "tenant_id = 'globex'") +
		budgetCountRows(t, s.App.DB().DB, "learning_governance", "tenant_id = 'globex' AND max_updates_per_day <> 7"); n != 0 {
		t.Errorf("refused calls changed globex's learning (%d rows)", n)
	}
	var r models.BudgetReservation
	if err := s.App.DB().Where("id = ?", s.globexReservation).Take(&r).Error; err != nil || r.Status != "pending" {
		t.Errorf("globex's reservation = %s, %v; want still pending", r.Status, err)
	}
	if n := budgetCountRows(t, s.App.DB().DB, "api_keys", "tenant_id <> 'acme'"); n != 0 {
		t.Errorf("refused calls created %d keys outside acme", n)
	}
	for _, tenant := range []string{"nowhere", "Not A Slug"} {
		if n := budgetCountRows(t, s.App.DB().DB, "tenants", "id = '"+tenant+"'") +
			budgetCountRows(t, s.App.DB().DB, "budget_limits", "tenant_id = '"+tenant+"'") +
			budgetCountRows(t, s.App.DB().DB, "tasks", "tenant_id = '"+tenant+"'") +
			budgetCountRows(t, s.App.DB().DB, "agents", "tenant_id = '"+tenant+"'") +
			budgetCountRows(t, s.App.DB().DB, "learning_governance", "tenant_id = '"+tenant+"'") +
			budgetCountRows(t, s.App.DB().DB, "agent_prompts", "tenant_id = '"+tenant+"'"); n != 0 {
			t.Errorf("refused calls naming %q created %d rows", tenant, n)
		}
	}
}

// TestPlatformPrincipalTenants: a platform principal must name a tenant on a
// budget route, may name any slug (created with its first budget, audited),
// an existing id that predates the slug rule, but no new id that breaks it;
// it lists every tenant's reservations unless it names one.
func TestPlatformPrincipalTenants(t *testing.T) {
	s := newTenancyServer(t)
	e := s.request(t, s.admin, map[string]any{"project_id": "p1", "task_id": "t", "model": "m", "estimated_tokens": 1}, nil).
		WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	if !strings.Contains(string(authJSON(t, e.Details)), "tenant_id") {
		t.Errorf("422 details %v do not name tenant_id", e.Details)
	}
	s.Get(t, "/api/v1/budget/state?project_id=p1", s.admin).WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")

	s.reserve(t, s.admin, "initech")
	if n := budgetCountRows(t, s.App.DB().DB, "tenants", "id = 'initech'"); n != 1 {
		t.Errorf("tenant initech rows = %d, want 1 (created on first use)", n)
	}
	if n := budgetCountRows(t, s.App.DB().DB, "audit_log", "action = 'tenant.create' AND resource_id = 'initech'"); n != 1 {
		t.Errorf("tenant.create entries of initech = %d, want 1", n)
	}
	s.request(t, s.admin, budgetRequestBody("New Team", 1), nil).WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")

	// A budget of the time before tenants, whose id is no slug, imported as a
	// tenant at start (here: by hand, as tenants.Service.Backfill does).
	db := s.App.DB().DB
	if err := db.Exec(`INSERT INTO tenants (id, name, created_at, updated_at) VALUES ('Legacy Team', 'Legacy Team', ?, ?)`,
		"2025-01-01 00:00:00", "2025-01-01 00:00:00").Error; err != nil {
		t.Fatal(err)
	}
	s.reserve(t, s.admin, "Legacy Team")

	var page struct {
		Items []struct {
			TenantID string `json:"tenant_id"`
		} `json:"items"`
	}
	s.Get(t, "/api/v1/budget/reservations?limit=200", s.admin).WantStatus(t, http.StatusOK).JSON(t, &page)
	seen := map[string]bool{}
	for _, it := range page.Items {
		seen[it.TenantID] = true
	}
	if diff := cmp.Diff(map[string]bool{"globex": true, "initech": true, "Legacy Team": true}, seen); diff != "" {
		t.Errorf("tenants of the platform admin's listing (-want +got):\n%s", diff)
	}
}

// TestIdempotencyKeyIsolation: the same Idempotency-Key from two principals of
// one tenant makes two reservations; neither replays nor conflicts with the
// other's, and the listing shows each key as sent with its principal.
func TestIdempotencyKeyIsolation(t *testing.T) {
	s := newTenancyServer(t)
	key := map[string]string{"Idempotency-Key": "nightly-42"}
	mine := s.request(t, s.operator, budgetRequestBody("acme", 100), key).WantStatus(t, http.StatusOK)
	theirs := s.request(t, s.developer, budgetRequestBody("acme", 100), key).WantStatus(t, http.StatusOK)
	if theirs.Header.Get("Idempotency-Replayed") != "" || theirs.Map(t)["reservation_id"] == mine.Map(t)["reservation_id"] {
		t.Fatalf("another principal's key was replayed: %s", theirs.Body)
	}
	// Other fields under the same key: a conflict for the developer only
	// when it used the key itself; the platform admin's first use is new.
	s.request(t, s.developer, budgetRequestBody("acme", 999), key).WantError(t, http.StatusConflict, "idempotency.conflict")
	s.request(t, s.admin, budgetRequestBody("acme", 999), key).WantStatus(t, http.StatusOK)
	for _, c := range []struct {
		token string
		first *testenv.Response
	}{{s.operator, mine}, {s.developer, theirs}} {
		again := s.request(t, c.token, budgetRequestBody("acme", 100), key).WantStatus(t, http.StatusOK)
		if string(again.Body) != string(c.first.Body) || again.Header.Get("Idempotency-Replayed") != "true" {
			t.Errorf("retry = %s, want its own first answer %s replayed", again.Body, c.first.Body)
		}
	}
	wantBudgetState(t, s.state(t, "acme"), 100_000, 0, 1199, 98_801, 0, 3)

	var page struct {
		Items []struct {
			IdempotencyKey *string `json:"idempotency_key"`
			PrincipalID    string  `json:"principal_id"`
			CreatedBy      string  `json:"created_by"`
		} `json:"items"`
	}
	s.Get(t, "/api/v1/budget/reservations?tenant_id=acme&limit=200", s.operator).WantStatus(t, http.StatusOK).JSON(t, &page)
	got := map[string]string{}
	for _, it := range page.Items {
		if it.IdempotencyKey != nil {
			got[it.CreatedBy] = *it.IdempotencyKey + " " + strings.SplitN(it.PrincipalID, ":", 2)[0]
		}
	}
	want := map[string]string{"operator": "nightly-42 user", "developer": "nightly-42 user", "admin": "nightly-42 user"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("keys by creator (-want +got):\n%s", diff)
	}
}

// TestCommitCapOverHTTP: actual_tokens above estimated × BUDGET_COMMIT_MAX_RATIO
// is a 422 with the cap in its details, and the reservation stays pending.
func TestCommitCapOverHTTP(t *testing.T) {
	s := newBudgetServer(t, "BUDGET_COMMIT_MAX_RATIO", "1.5")
	id := s.request(t, s.operator, budgetRequestBody("acme", 1000), nil).WantStatus(t, http.StatusOK).Map(t)["reservation_id"]
	commit := func(actual int) *testenv.Response {
		return s.Post(t, "/api/v1/budget/commit", s.operator, map[string]any{
			"tenant_id": "acme", "project_id": "p1", "reservation_id": id, "actual_tokens": actual,
		})
	}
	e := commit(1_000_000_000).WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	want := map[string]any{
		"errors": []any{map[string]any{"field": "actual_tokens",
			"message": "must be at most 1500: the reservation's 1000 tokens × BUDGET_COMMIT_MAX_RATIO 1.5"}},
		"estimated_tokens": float64(1000), "max_actual_tokens": float64(1500), "commit_max_ratio": 1.5,
	}
	if diff := cmp.Diff(want, e.Details); diff != "" {
		t.Errorf("details (-want +got):\n%s", diff)
	}
	commit(1501).WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	wantBudgetState(t, s.state(t, "acme"), 100_000, 0, 1000, 99_000, 0, 1)
	commit(1500).WantStatus(t, http.StatusOK)
	wantBudgetState(t, s.state(t, "acme"), 100_000, 1500, 0, 98_500, 0, 0)
}
