package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/services/auth"
)

// TestSpecTellsTheTruth drives every route of the real router through the
// situations that produce its answers — no or a bad token, a role without the
// permission, malformed, oversized and invalid bodies, unknown ids, the
// state conflicts of each resource, a used-up rate limit, Redis down with
// RATE_LIMIT_FAIL_MODE=closed, a failing database — and holds the spec to
// what came back:
//
//   - every answer has a documented status, a body that validates against the
//     documented schema and, for an error, one of the documented codes;
//   - every documented status was answered;
//   - every error example (code, message with digits and quoted values aside,
//     and the keys of its details) was answered by that operation.
//
// So the spec may not promise an answer the server never gives, nor keep
// quiet about one it gives. A new endpoint gets the generic situations for
// free; a code that only a certain state produces (a 409, a 404 with its own
// message) needs a scenario in scenarios below.
func TestSpecTellsTheTruth(t *testing.T) {
	t.Parallel()
	w := &walker{t: t, ops: operations(t, loadSpec(t)), answers: map[string][]answer{}}

	// 1. The usual server: tokens, permissions, bodies, ids, states.
	normal := testenv.Quick(t, "MAX_BODY_BYTES", "4096", "METRICS_BEARER_TOKEN", metricsToken, "LOGIN_MAX_ATTEMPTS", "2")
	addUser(t, normal, truthTenantAdmin, auth.RoleAdmin, "default")
	served := routes(t, normal)
	for _, r := range served {
		o, ok := w.ops[r]
		if !ok {
			continue // TestSpecMatchesRoutes reports it
		}
		w.generic(normal, o)
		if s, ok := scenarios[r]; ok {
			s(&scenario{w: w, srv: normal, op: o})
		}
	}
	for r := range scenarios {
		if !slices.Contains(served, r) {
			t.Errorf("scenarios names %s, which the router does not serve", r)
		}
	}

	// 2. Every rate limit used up after one request.
	limited := testenv.Quick(t, "RATE_LIMIT_ANONYMOUS", "1-H", "RATE_LIMIT_HEALTH", "1-H", "RATE_LIMIT_LOGIN", "1-H")
	for _, r := range served {
		if o, ok := w.ops[r]; ok {
			for range 2 {
				w.send(limited, o, "anonymous, limits used up", w.request(o, "", "{}"))
			}
		}
	}

	// 3. Redis down and RATE_LIMIT_FAIL_MODE=closed.
	redisDown := testenv.Quick(t, "REDIS_URL", "redis://127.0.0.1:1/0", "REDIS_CALL_TIMEOUT", "100ms", "RATE_LIMIT_FAIL_MODE", "closed")
	for _, r := range served {
		if o, ok := w.ops[r]; ok {
			w.send(redisDown, o, "anonymous, Redis down", w.request(o, "", "{}"))
		}
	}

	// 4. The database fails under a logged-in admin (its account is read from
	// the database on every request): 503, the token could not be checked.
	broken := testenv.Quick(t)
	admin := broken.Token(t, "admin")
	if err := broken.App.DB().Close(); err != nil {
		t.Fatal(err)
	}
	for _, r := range served {
		if o, ok := w.ops[r]; ok {
			w.send(broken, o, "admin, database failing", w.request(o, admin, exampleBody(o)))
		}
	}

	w.checkCoverage()
}

const metricsToken = "metrics-scrape-token-0123456789"

// truthTenantAdmin is an admin bound to tenant default: every permission,
// but no platform-level route and no other tenant.
const truthTenantAdmin = "truth-tenant-admin"

// scenarios provoke the answers that need a certain state, by operation.
// Setup calls go through s.srv directly; only s.send is recorded.
var scenarios = map[string]func(s *scenario){
	"GET /metrics": func(s *scenario) {
		s.send("Prometheus with METRICS_BEARER_TOKEN", testenv.Request{Path: "/metrics", Token: metricsToken})
	},
	"POST /api/v1/auth/login": func(s *scenario) {
		s.send("right password", testenv.Request{Body: `{"username":"admin","password":"admin123"}`})
		s.send("wrong password", testenv.Request{Body: `{"username":"admin","password":"wrong"}`})
		for range 3 { // LOGIN_MAX_ATTEMPTS is 2
			s.send("locked out", testenv.Request{Body: `{"username":"lockout-probe","password":"wrong"}`})
		}
	},
	"POST /api/v1/budget/request": func(s *scenario) {
		admin := s.token("admin")
		s.send("example", testenv.Request{Token: admin, Body: budgetBody("truth-ok", 100, "")})
		s.srv.Send(s.t(), testenv.Request{Method: http.MethodPut, Path: "/api/v1/budget/limits", Token: admin,
			Body: map[string]any{"tenant_id": "truth-empty", "project_id": "p", "total_limit": 0}}).WantStatus(s.t(), http.StatusOK)
		s.send("empty budget", testenv.Request{Token: admin, Body: budgetBody("truth-empty", 100, "")})
		s.send("first use of a key", testenv.Request{Token: admin, Body: budgetBody("truth-idem", 100, "k1")})
		s.send("same key, other tokens", testenv.Request{Token: admin, Body: budgetBody("truth-idem", 200, "k1")})
	},
	"POST /api/v1/budget/commit": func(s *scenario) {
		admin := s.token("admin")
		ok := s.reserve(admin, "truth-commit")
		s.send("pending", testenv.Request{Token: admin, Body: settleBody("truth-commit", ok, 90)})
		s.send("again, other tokens", testenv.Request{Token: admin, Body: settleBody("truth-commit", ok, 80)})
		released := s.reserve(admin, "truth-commit")
		s.srv.Post(s.t(), "/api/v1/budget/release", admin, settleBody("truth-commit", released, 0)).WantStatus(s.t(), http.StatusOK)
		s.send("released", testenv.Request{Token: admin, Body: settleBody("truth-commit", released, 90)})
	},
	"POST /api/v1/budget/release": func(s *scenario) {
		admin := s.token("admin")
		s.send("pending", testenv.Request{Token: admin, Body: settleBody("truth-release", s.reserve(admin, "truth-release"), 0)})
		committed := s.reserve(admin, "truth-release")
		s.srv.Post(s.t(), "/api/v1/budget/commit", admin, settleBody("truth-release", committed, 90)).WantStatus(s.t(), http.StatusOK)
		s.send("committed", testenv.Request{Token: admin, Body: settleBody("truth-release", committed, 0)})
	},
	"POST /api/v1/validate/consensus": func(s *scenario) {
		s.send("a valid answer", testenv.Request{Token: s.token("developer"),
			Body: map[string]string{"llm_response": `{"decision":"approve","confidence":0.9,"reasoning":"tests pass"}`}})
	},
	"POST /api/v1/validate/patterns": func(s *scenario) {
		s.send("a valid answer", testenv.Request{Token: s.token("developer"),
			Body: map[string]string{"llm_response": `[{"pattern_type":"skill_gap","root_cause":"no tests","suggested_fix":"add tests","confidence":0.5}]`}})
	},
	"GET /api/v1/budget/state": func(s *scenario) {
		s.send("a budget", testenv.Request{Path: "/api/v1/budget/state?tenant_id=acme&project_id=support-bot", Token: s.token("admin")})
		s.send("another tenant's budget", testenv.Request{Path: "/api/v1/budget/state?tenant_id=acme&project_id=support-bot", Token: s.tenantAdmin()})
	},
	"GET /api/v1/budget/reservations": func(s *scenario) {
		s.send("a bad cursor", testenv.Request{Path: "/api/v1/budget/reservations?cursor=not-a-cursor", Token: s.token("admin")})
		s.send("another tenant's", testenv.Request{Path: "/api/v1/budget/reservations?tenant_id=acme", Token: s.tenantAdmin()})
	},
	"GET /api/v1/tenants": func(s *scenario) {
		s.send("a bad cursor", testenv.Request{Path: "/api/v1/tenants?cursor=not-a-cursor", Token: s.token("admin")})
	},
	"POST /api/v1/tenants": func(s *scenario) {
		s.send("a new tenant", testenv.Request{Token: s.token("admin"), Body: `{"id":"truth-new","name":"Truth"}`})
		s.send("a taken id", testenv.Request{Token: s.token("admin"), Body: `{"id":"truth-new"}`})
	},
	"GET /api/v1/tenants/{id}": func(s *scenario) {
		s.send("a tenant", testenv.Request{Path: "/api/v1/tenants/default", Token: s.token("admin")})
	},
	"PATCH /api/v1/tenants/{id}": func(s *scenario) {
		s.send("a new name", testenv.Request{Path: "/api/v1/tenants/default", Token: s.token("admin"), Body: `{"name":"Default tenant"}`})
		s.send("a blank name", testenv.Request{Path: "/api/v1/tenants/default", Token: s.token("admin"), Body: `{"name":" "}`})
	},
	"GET /api/v1/users": func(s *scenario) {
		s.send("a bad cursor", testenv.Request{Path: "/api/v1/users?cursor=not-a-cursor", Token: s.token("admin")})
	},
	"POST /api/v1/users": func(s *scenario) {
		body := `{"username":"truth-user","password":"truth-password","role":"developer","tenant_id":"default"}`
		s.send("a new user", testenv.Request{Token: s.token("admin"), Body: body})
		s.send("a taken username", testenv.Request{Token: s.token("admin"), Body: body})
	},
	"GET /api/v1/users/{id}": func(s *scenario) {
		s.send("a user", testenv.Request{Path: "/api/v1/users/" + s.newUser("truth-get"), Token: s.token("admin")})
	},
	"PATCH /api/v1/users/{id}": func(s *scenario) {
		admin := s.token("admin")
		path := "/api/v1/users/" + s.newUser("truth-patch")
		s.send("a new role", testenv.Request{Path: path, Token: admin, Body: `{"role":"observer"}`})
		s.send("an unknown role", testenv.Request{Path: path, Token: admin, Body: `{"role":"superuser"}`})
		var me struct {
			UserID string `json:"user_id"`
		}
		s.srv.Get(s.t(), "/api/v1/auth/me", admin).WantStatus(s.t(), http.StatusOK).JSON(s.t(), &me)
		s.send("the last platform admin disabled", testenv.Request{Path: "/api/v1/users/" + me.UserID, Token: admin, Body: `{"disabled":true}`})
	},
	"POST /api/v1/users/{id}/password": func(s *scenario) {
		s.send("a user", testenv.Request{Path: "/api/v1/users/" + s.newUser("truth-reset") + "/password", Token: s.token("admin"),
			Body: `{"password":"a new password"}`})
	},
	"POST /api/v1/auth/password": func(s *scenario) {
		addUser(s.t(), s.srv, "truth-changer", auth.RoleDeveloper, "default")
		token := s.srv.Login(s.t(), "truth-changer", testPassword)
		s.send("the right old password", testenv.Request{Token: token,
			Body: map[string]string{"old_password": testPassword, "new_password": "a new password"}})
		addUser(s.t(), s.srv, "truth-guesser", auth.RoleDeveloper, "default")
		token = s.srv.Login(s.t(), "truth-guesser", testPassword)
		for range 3 { // LOGIN_MAX_ATTEMPTS is 2
			s.send("wrong old passwords", testenv.Request{Token: token,
				Body: map[string]string{"old_password": "a wrong guess", "new_password": "a new password"}})
		}
	},
	"POST /api/v1/tasks": func(s *scenario) {
		admin := s.token("admin")
		s.send("a task", testenv.Request{Token: admin, Body: `{"tenant_id":"default","title":"truth"}`})
		s.agent(admin, "truth-paused", "paused")
		s.send("a paused agent", testenv.Request{Token: admin, Body: `{"tenant_id":"default","title":"truth","agent_id":"truth-paused"}`})
	},
	"GET /api/v1/tasks": func(s *scenario) {
		s.send("a bad cursor", testenv.Request{Path: "/api/v1/tasks?cursor=not-a-cursor", Token: s.token("admin")})
		s.send("another tenant's", testenv.Request{Path: "/api/v1/tasks?tenant_id=acme", Token: s.tenantAdmin()})
	},
	"GET /api/v1/tasks/{id}": func(s *scenario) {
		s.send("a task", testenv.Request{Path: "/api/v1/tasks/" + s.task("pending"), Token: s.token("admin")})
	},
	"GET /api/v1/tasks/{id}/events": func(s *scenario) {
		id := s.task("running")
		s.send("a task", testenv.Request{Path: "/api/v1/tasks/" + id + "/events", Token: s.token("admin")})
		s.send("a bad cursor", testenv.Request{Path: "/api/v1/tasks/" + id + "/events?cursor=x", Token: s.token("admin")})
	},
	"PATCH /api/v1/tasks/{id}": func(s *scenario) {
		admin := s.token("admin")
		id := s.task("pending")
		s.send("an illegal move", testenv.Request{Path: "/api/v1/tasks/" + id, Token: admin, Body: `{"state":"completed"}`})
		s.send("a blank title", testenv.Request{Path: "/api/v1/tasks/" + id, Token: admin, Body: `{"title":" "}`})
		s.send("a legal move", testenv.Request{Path: "/api/v1/tasks/" + id, Token: admin, Body: `{"state":"running","version":1}`})
		s.send("a stale version", testenv.Request{Path: "/api/v1/tasks/" + id, Token: admin, Body: `{"state":"review","version":1}`})
	},
	"DELETE /api/v1/tasks/{id}": func(s *scenario) {
		admin := s.token("admin")
		s.send("a pending task", testenv.Request{Path: "/api/v1/tasks/" + s.task("pending"), Token: admin})
		s.send("a running task", testenv.Request{Path: "/api/v1/tasks/" + s.task("running"), Token: admin})
	},
	"POST /api/v1/agents": func(s *scenario) {
		admin := s.token("admin")
		s.send("a new agent", testenv.Request{Token: admin, Body: `{"tenant_id":"default","id":"truth-new","role":"tester"}`})
		s.send("a taken id", testenv.Request{Token: admin, Body: `{"tenant_id":"default","id":"truth-new","role":"tester"}`})
	},
	"GET /api/v1/agents": func(s *scenario) {
		s.send("a bad cursor", testenv.Request{Path: "/api/v1/agents?cursor=not-a-cursor", Token: s.token("admin")})
		s.send("another tenant's", testenv.Request{Path: "/api/v1/agents?tenant_id=acme", Token: s.tenantAdmin()})
	},
	"GET /api/v1/agents/{id}": func(s *scenario) {
		s.agent(s.token("admin"), "truth-get", "active")
		s.send("an agent", testenv.Request{Path: "/api/v1/agents/truth-get?tenant_id=default", Token: s.token("admin")})
		s.send("another tenant's", testenv.Request{Path: "/api/v1/agents/truth-get?tenant_id=acme", Token: s.tenantAdmin()})
	},
	"PATCH /api/v1/agents/{id}": func(s *scenario) {
		admin := s.token("admin")
		s.agent(admin, "truth-busy", "active")
		s.send("a change", testenv.Request{Path: "/api/v1/agents/truth-busy?tenant_id=default", Token: admin, Body: `{"role":"reviewer"}`})
		s.srv.Send(s.t(), testenv.Request{Method: http.MethodPatch, Path: "/api/v1/tasks/" + s.task("running"), Token: admin,
			Body: `{"agent_id":"truth-busy"}`}).WantStatus(s.t(), http.StatusOK)
		s.send("retire with work in progress", testenv.Request{Path: "/api/v1/agents/truth-busy?tenant_id=default", Token: admin, Body: `{"status":"retired"}`})
		s.send("another tenant's", testenv.Request{Path: "/api/v1/agents/truth-busy?tenant_id=acme", Token: s.tenantAdmin(), Body: `{"role":"tester"}`})
	},
	"POST /api/v1/escalations": func(s *scenario) {
		admin := s.token("admin")
		s.send("a running task", testenv.Request{Token: admin, Body: escalationBody(s.task("running"))})
		s.send("a pending task", testenv.Request{Token: admin, Body: escalationBody(s.task("pending"))})
	},
	"GET /api/v1/escalations": func(s *scenario) {
		s.send("a bad cursor", testenv.Request{Path: "/api/v1/escalations?cursor=not-a-cursor", Token: s.token("admin")})
		s.send("another tenant's", testenv.Request{Path: "/api/v1/escalations?tenant_id=acme", Token: s.tenantAdmin()})
	},
	"GET /api/v1/escalations/{id}": func(s *scenario) {
		s.send("an escalation", testenv.Request{Path: "/api/v1/escalations/" + s.escalation(), Token: s.token("admin")})
	},
	"POST /api/v1/escalations/{id}/resolve": func(s *scenario) {
		id := s.escalation()
		s.send("open", testenv.Request{Path: "/api/v1/escalations/" + id + "/resolve", Token: s.token("admin"), Body: `{"resolution":"done"}`})
		s.send("resolved", testenv.Request{Path: "/api/v1/escalations/" + id + "/resolve", Token: s.token("admin"), Body: `{"resolution":"again"}`})
	},
	"POST /api/v1/reviews": func(s *scenario) {
		admin := s.token("admin")
		s.agent(admin, "truth-reviewer", "active")
		running := s.task("running")
		s.send("a running task", testenv.Request{Token: admin, Body: reviewBody(running, "truth-reviewer")})
		s.send("a task with an open review", testenv.Request{Token: admin, Body: reviewBody(running, "truth-reviewer")})
		s.send("a pending task", testenv.Request{Token: admin, Body: reviewBody(s.task("pending"), "truth-reviewer")})
		s.send("an unknown agent", testenv.Request{Token: admin, Body: reviewBody(s.task("running"), "truth-nobody")})
		s.send("an unknown task", testenv.Request{Token: admin, Body: reviewBody(noSuchID, "truth-reviewer")})
	},
	"GET /api/v1/reviews": func(s *scenario) {
		s.send("a bad cursor", testenv.Request{Path: "/api/v1/reviews?cursor=not-a-cursor", Token: s.token("admin")})
		s.send("another tenant's", testenv.Request{Path: "/api/v1/reviews?tenant_id=acme", Token: s.tenantAdmin()})
	},
	"GET /api/v1/reviews/{id}": func(s *scenario) {
		admin := s.token("admin")
		s.agent(admin, "truth-get-reviewer", "active")
		s.send("a review", testenv.Request{Path: "/api/v1/reviews/" + s.review("truth-get-reviewer"), Token: admin})
	},
	"POST /api/v1/reviews/{id}/votes": func(s *scenario) {
		admin := s.token("admin")
		s.agent(admin, "truth-voter-a", "active")
		s.agent(admin, "truth-voter-b", "active")
		path := "/api/v1/reviews/" + s.review("truth-voter-a", "truth-voter-b") + "/votes"
		s.send("an approval", testenv.Request{Path: path, Token: admin, Body: `{"agent_id":"truth-voter-a","vote":"approve"}`})
		s.send("the same agent again", testenv.Request{Path: path, Token: admin, Body: `{"agent_id":"truth-voter-a","vote":"reject"}`})
		s.send("an unknown agent", testenv.Request{Path: path, Token: admin, Body: `{"agent_id":"truth-nobody","vote":"reject"}`})
		s.send("the deciding rejection", testenv.Request{Path: path, Token: admin,
			Body: `{"agent_id":"truth-voter-b","raw":"{\"decision\":\"reject\",\"confidence\":0.9,\"reasoning\":\"no\"}"}`})
		s.send("a decided review", testenv.Request{Path: path, Token: admin, Body: `{"agent_id":"truth-voter-b","vote":"approve"}`})
		s.send("an unknown review", testenv.Request{Path: "/api/v1/reviews/" + noSuchID + "/votes", Token: admin, Body: `{"agent_id":"truth-voter-b","vote":"approve"}`})
	},
	"POST /api/v1/keys": func(s *scenario) {
		s.send("a role above the creator's", testenv.Request{Token: s.token("operator"), Body: `{"name":"x","role":"admin"}`})
		s.send("another tenant", testenv.Request{Token: s.tenantAdmin(), Body: `{"name":"x","role":"observer","tenant_id":"acme"}`})
	},
	"GET /api/v1/keys": func(s *scenario) {
		s.send("a bad cursor", testenv.Request{Path: "/api/v1/keys?cursor=not-a-cursor", Token: s.token("admin")})
		s.send("another tenant's", testenv.Request{Path: "/api/v1/keys?tenant_id=acme", Token: s.tenantAdmin()})
	},
	"GET /api/v1/keys/{id}": func(s *scenario) {
		s.send("a key", testenv.Request{Path: "/api/v1/keys/" + s.key("observer").ID, Token: s.token("admin")})
	},
	"DELETE /api/v1/keys/{id}": func(s *scenario) {
		s.send("a key", testenv.Request{Path: "/api/v1/keys/" + s.key("observer").ID, Token: s.token("admin")})
	},
	"POST /api/v1/keys/{id}/rotate": func(s *scenario) {
		admin := s.token("admin")
		k := s.key("observer").ID
		s.send("a key", testenv.Request{Path: "/api/v1/keys/" + k + "/rotate", Token: admin, Body: `{"grace_seconds":60}`})
		s.send("a grace too long", testenv.Request{Path: "/api/v1/keys/" + k + "/rotate", Token: admin, Body: `{"grace_seconds":604801}`})
		s.send("an admin key by an operator", testenv.Request{Path: "/api/v1/keys/" + s.key("admin").ID + "/rotate", Token: s.token("operator"), Body: `{}`})
		s.srv.Send(s.t(), testenv.Request{Method: http.MethodDelete, Path: "/api/v1/keys/" + k, Token: admin}).WantStatus(s.t(), http.StatusOK)
		s.send("a revoked key", testenv.Request{Path: "/api/v1/keys/" + k + "/rotate", Token: admin, Body: `{}`})
	},
	"POST /api/v1/auth/logout": func(s *scenario) {
		s.send("an API key", testenv.Request{Token: s.key("observer").Secret})
	},
	"GET /api/v1/prompts": func(s *scenario) {
		s.send("a bad cursor", testenv.Request{Path: "/api/v1/prompts?cursor=not-a-cursor", Token: s.token("admin")})
		s.send("another tenant's", testenv.Request{Path: "/api/v1/prompts?tenant_id=acme", Token: s.tenantAdmin()})
	},
	"GET /api/v1/learning/governance": func(s *scenario) {
		s.send("a tenant's", testenv.Request{Path: "/api/v1/learning/governance?tenant_id=default", Token: s.token("admin")})
		s.send("another tenant's", testenv.Request{Path: "/api/v1/learning/governance?tenant_id=acme", Token: s.tenantAdmin()})
	},
	"GET /api/v1/learning/stats": func(s *scenario) {
		s.send("a tenant's", testenv.Request{Path: "/api/v1/learning/stats?tenant_id=default", Token: s.token("admin")})
		s.send("another tenant's", testenv.Request{Path: "/api/v1/learning/stats?tenant_id=acme", Token: s.tenantAdmin()})
	},
	"PUT /api/v1/learning/governance/{role}": func(s *scenario) {
		body := `{"tenant_id":"default","max_updates_per_day":3,"cooldown_hours":1,"require_human_approval":true}`
		s.send("a rule", testenv.Request{Path: "/api/v1/learning/governance/reviewer", Token: s.token("admin"), Body: body})
		s.send("another tenant's", testenv.Request{Path: "/api/v1/learning/governance/reviewer", Token: s.tenantAdmin(),
			Body: `{"tenant_id":"acme","max_updates_per_day":3,"cooldown_hours":1,"require_human_approval":true}`})
	},
	"POST /api/v1/learning/proposals": func(s *scenario) {
		admin := s.token("admin")
		body := `{"tenant_id":"default","agent_role":"tester","prompt_text":"test first","learned_from_pattern":"skill_gap"}`
		s.send("a proposal", testenv.Request{Token: admin, Body: body})
		s.send("within the cooldown", testenv.Request{Token: admin, Body: body})
		s.send("another tenant", testenv.Request{Token: s.tenantAdmin(), Body: `{"tenant_id":"acme","agent_role":"tester","prompt_text":"x","learned_from_pattern":"y"}`})
	},
	"POST /api/v1/learning/proposals/{id}/approve": func(s *scenario) {
		id := s.proposal("security")
		s.send("pending", testenv.Request{Path: "/api/v1/learning/proposals/" + id + "/approve", Token: s.token("admin")})
		s.send("approved", testenv.Request{Path: "/api/v1/learning/proposals/" + id + "/approve", Token: s.token("admin")})
	},
	"POST /api/v1/learning/proposals/{id}/reject": func(s *scenario) {
		id := s.proposal("architect")
		s.send("pending", testenv.Request{Path: "/api/v1/learning/proposals/" + id + "/reject", Token: s.token("admin"), Body: `{"reason":"no"}`})
		s.send("rejected", testenv.Request{Path: "/api/v1/learning/proposals/" + id + "/reject", Token: s.token("admin"), Body: `{"reason":"no"}`})
	},
	"GET /api/v1/dlq": func(s *scenario) {
		s.send("a bad since", testenv.Request{Path: "/api/v1/dlq?since=yesterday", Token: s.token("admin")})
	},
	"GET /api/v1/dlq/{id}": func(s *scenario) {
		row := dlqPublish(s.t(), s.srv, "orders.created", `{"id":1}`, nil)
		s.send("a message", testenv.Request{Path: "/api/v1/dlq/" + row.ID, Token: s.token("admin")})
	},
	"POST /api/v1/dlq/{id}/resolve": func(s *scenario) {
		admin := s.token("admin")
		row := dlqPublish(s.t(), s.srv, "orders.created", `{"id":1}`, nil)
		s.send("unresolved", testenv.Request{Path: resolvePath(row.ID), Token: admin, Body: `{"note":"done"}`})
		s.send("resolved", testenv.Request{Path: resolvePath(row.ID), Token: admin, Body: `{"note":"done"}`})
		loop := dlqPublish(s.t(), s.srv, s.srv.Config.DLQSubjectPrefix+".orders.created", "x", nil)
		s.send("requeue into the DLQ", testenv.Request{Path: resolvePath(loop.ID), Token: admin, Body: `{"note":"n","requeue":true}`})
	},
	"POST /api/v1/circuit-breakers/{name}/reset": func(s *scenario) {
		s.send("a breaker", testenv.Request{Path: "/api/v1/circuit-breakers/database/reset", Token: s.token("admin")})
	},
	"GET /api/v1/usage": func(s *scenario) {
		s.send("a bad since", testenv.Request{Path: "/api/v1/usage?since=yesterday", Token: s.token("admin")})
		s.send("another tenant's", testenv.Request{Path: "/api/v1/usage?tenant_id=acme", Token: s.tenantAdmin()})
	},
	"GET /api/v1/models": func(s *scenario) {
		llm := s.gatewayServer()
		s.sendTo(llm, "models configured", testenv.Request{Token: llm.Token(s.t(), "admin")})
	},
	"POST /api/v1/chat/completions": func(s *scenario) {
		llm := s.gatewayServer()
		admin := llm.Token(s.t(), "admin")
		s.sendTo(llm, "a call", testenv.Request{Token: admin, Body: chatBody(10, "")})
		s.sendTo(llm, "an unknown model", testenv.Request{Token: admin, Body: `{"model":"gpt-5","messages":[{"role":"user","content":"hi"}]}`})
		llm.Send(s.t(), testenv.Request{Method: http.MethodPut, Path: "/api/v1/budget/limits", Token: admin,
			Body: map[string]any{"tenant_id": "default", "project_id": "empty", "total_limit": 0}}).WantStatus(s.t(), http.StatusOK)
		s.sendTo(llm, "an empty budget", testenv.Request{Token: admin, Body: chatBody(10, ""), Header: map[string]string{"X-Project-ID": "empty"}})
		key := map[string]string{"Idempotency-Key": "truth"}
		s.sendTo(llm, "first use of a key", testenv.Request{Token: admin, Body: chatBody(10, ""), Header: key})
		s.sendTo(llm, "same key, other body", testenv.Request{Token: admin, Body: chatBody(11, ""), Header: key})
		streamKey := map[string]string{"Idempotency-Key": "truth-stream"}
		s.sendTo(llm, "a stream with a key", testenv.Request{Token: admin, Body: chatBody(10, `,"stream":true`), Header: streamKey})
		llm.App.Settled() // a stream is committed beside its end: a retry a moment later finds it settled
		s.sendTo(llm, "the stream's key again", testenv.Request{Token: admin, Body: chatBody(10, `,"stream":true`), Header: streamKey})
	},
	"GET /api/v1/audit": func(s *scenario) {
		s.send("a bad since", testenv.Request{Path: "/api/v1/audit?since=yesterday", Token: s.token("admin")})
	},
}

// answer is one recorded answer of an operation.
type answer struct {
	probe   string
	status  int
	code    string // error_code of an Error body
	message string
	details map[string]any
}

type walker struct {
	t       *testing.T
	ops     map[string]operation
	mu      sync.Mutex
	answers map[string][]answer
}

// generic sends what every operation gets: anonymous, a bad token, the
// observer and the admin (with the example body, an empty object, and for a
// body a malformed and an oversized one); path parameters name nothing that
// exists.
func (w *walker) generic(srv *testenv.Server, o operation) {
	type probe struct{ name, role, token, body string }
	probes := []probe{
		{"anonymous", "", "", "{}"},
		{"a bad token", "", "not-a-token", "{}"},
		{"observer", "observer", "", "{}"},
		{"an admin bound to a tenant, with the example body", truthTenantAdmin, "", exampleBody(o)},
		{"admin with the example body", "admin", "", exampleBody(o)},
		{"admin with an empty object", "admin", "", "{}"},
	}
	if o.op.RequestBody != nil {
		probes = append(probes,
			probe{"admin with malformed JSON", "admin", "", `{"`},
			probe{"admin with a body over MAX_BODY_BYTES", "admin", "", `{"x":"` + strings.Repeat("x", 4096) + `"}`})
	}
	if strings.Contains(o.path, "{") {
		probes = append(probes, probe{"admin with a NUL byte in a path parameter", "admin", "", exampleBody(o)})
	}
	for _, p := range probes {
		token := p.token
		switch p.role {
		case "":
		case truthTenantAdmin:
			token = srv.Login(w.t, truthTenantAdmin, testPassword) // fresh: a probe of logout revokes it
		default:
			token = srv.Token(w.t, p.role)
		}
		req := w.request(o, token, p.body)
		if strings.Contains(p.name, "NUL byte in a path") {
			req.Path = nulPath(o)
		}
		w.send(srv, o, p.name, req)
	}
}

// nulPath is the operation's path with a NUL byte in every parameter.
func nulPath(o operation) string {
	return regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(o.path, "a%00b")
}

// request is a request of o with its path parameters filled.
func (w *walker) request(o operation, token, body string) testenv.Request {
	req := testenv.Request{Method: o.method, Path: probePath(o), Token: token}
	if o.op.RequestBody != nil {
		req.Body = body
	}
	return req
}

// send performs req against srv as operation o and checks the answer
// against the spec at once.
func (w *walker) send(srv *testenv.Server, o operation, probe string, req testenv.Request) {
	t := w.t
	t.Helper()
	res := srv.Send(t, req)
	a := answer{probe: probe, status: res.Status}
	where := fmt.Sprintf("%s (%s) answered %d", o.key(), probe, res.Status)
	documented := o.responses()[res.Status]
	if documented == nil {
		t.Errorf("%s, which is not documented (add @Success/@Failure %d); body %.300s", where, res.Status, res.Body)
	}
	if mt := res.Header.Get("Content-Type"); strings.HasPrefix(mt, "application/json") {
		var body any
		if err := json.Unmarshal(res.Body, &body); err != nil {
			t.Errorf("%s with a body that is not JSON: %v", where, err)
		}
		if m, ok := body.(map[string]any); ok && res.Status >= 400 {
			a.code, _ = m["error_code"].(string)
			a.message, _ = m["message"].(string)
			a.details, _ = m["details"].(map[string]any)
		}
		if documented != nil {
			w.checkBody(where, documented, body, a)
		}
	}
	w.mu.Lock()
	w.answers[o.key()] = append(w.answers[o.key()], a)
	w.mu.Unlock()
}

// checkBody validates an answer against the documented schema and, for an
// error, wants its code among the documented ones.
func (w *walker) checkBody(where string, documented *openapi3.Response, body any, a answer) {
	m := documented.Content.Get("application/json")
	if m == nil || m.Schema == nil || m.Schema.Value == nil {
		w.t.Errorf("%s with a JSON body, but documents none", where)
		return
	}
	if err := m.Schema.Value.VisitJSON(body, openapi3.EnableJSONSchema2020(), openapi3.VisitAsResponse(),
		openapi3.EnableFormatValidation(), openapi3.MultiErrors()); err != nil {
		w.t.Errorf("%s with a body that breaks the documented schema: %v\nbody: %.500v", where, err, body)
	}
	if a.code == "" || len(m.Examples) == 0 {
		return
	}
	var codes []string
	for _, ex := range examplesOf(m) {
		codes = append(codes, ex.code)
	}
	if !slices.Contains(codes, a.code) {
		w.t.Errorf("%s with error_code %s, but documents only %v for that status: add it to the @Failure line (%q)", where, a.code, codes, a.message)
	}
}

// checkCoverage wants every documented status and error example of every
// operation answered at least once.
func (w *walker) checkCoverage() {
	for _, k := range sortedKeys(w.ops) {
		o := w.ops[k]
		got := w.answers[k]
		for status, resp := range o.responses() {
			if status == http.StatusInternalServerError {
				// 500 internal.error is the answer of a bug (a panic, an
				// error no service classified), documented everywhere
				// because a bug can be anywhere; no situation may produce
				// it, and TestSpecFuzz fails when one does.
				continue
			}
			if !slices.ContainsFunc(got, func(a answer) bool { return a.status == status }) {
				w.t.Errorf("%s documents %d, but no situation produced it: remove the @Failure/@Success line, or add a scenario that provokes it", k, status)
				continue
			}
			m := resp.Content.Get("application/json")
			if m == nil {
				continue
			}
			for _, ex := range examplesOf(m) {
				if !slices.ContainsFunc(got, ex.matches(status)) {
					w.t.Errorf("%s documents %d %s %q (details %v), but never answered it: correct the @Failure line, or add a scenario that provokes it; answers with %d were %v",
						k, status, ex.code, ex.message, sortedKeys(ex.details), status, answersWith(got, status))
				}
			}
		}
	}
}

func answersWith(got []answer, status int) []string {
	var out []string
	for _, a := range got {
		if a.status == status {
			out = append(out, fmt.Sprintf("%s: %s %q %v", a.probe, a.code, a.message, sortedKeys(a.details)))
		}
	}
	return out
}

// errorExample is a documented error answer.
type errorExample struct {
	code, message string
	details       map[string]any
}

func examplesOf(m *openapi3.MediaType) []errorExample {
	var out []errorExample
	for _, name := range sortedKeys(m.Examples) {
		ref := m.Examples[name]
		if ref == nil || ref.Value == nil {
			continue
		}
		v, ok := ref.Value.Value.(map[string]any)
		if !ok {
			continue
		}
		ex := errorExample{}
		ex.code, _ = v["error_code"].(string)
		ex.message, _ = v["message"].(string)
		ex.details, _ = v["details"].(map[string]any)
		if ex.code != "" {
			out = append(out, ex)
		}
	}
	return out
}

// The parts of a message that vary between answers of the same kind: numbers
// (limits, offsets, seconds) and quoted values (names, subjects).
var (
	digits = regexp.MustCompile(`[0-9]+`)
	quoted = regexp.MustCompile(`"[^"]*"`)
)

func normalize(msg string) string {
	return digits.ReplaceAllString(quoted.ReplaceAllString(msg, `"…"`), "0")
}

func (ex errorExample) matches(status int) func(answer) bool {
	return func(a answer) bool {
		if a.status != status || a.code != ex.code || normalize(a.message) != normalize(ex.message) {
			return false
		}
		for k := range ex.details {
			if _, ok := a.details[k]; !ok {
				return false
			}
		}
		return true
	}
}

// probePath fills the path parameters with values of the documented type
// that name nothing that exists.
func probePath(o operation) string {
	path := o.path
	for _, ref := range o.op.Parameters {
		prm := ref.Value
		if prm.In != "path" {
			continue
		}
		v := "does-not-exist"
		if s := prm.Schema.Value; s != nil && s.Format == "uuid" {
			v = uuid.NewString()
		}
		path = strings.ReplaceAll(path, "{"+prm.Name+"}", v)
	}
	return path
}

// exampleBody is the request model's example (each property's first
// example), "{}" for an operation without a body.
func exampleBody(o operation) string {
	if o.op.RequestBody == nil || o.op.RequestBody.Value == nil {
		return "{}"
	}
	m := o.op.RequestBody.Value.Content.Get("application/json")
	if m == nil || m.Schema == nil || m.Schema.Value == nil {
		return "{}"
	}
	body := map[string]any{}
	for name, p := range m.Schema.Value.Properties {
		if p.Value != nil && len(p.Value.Examples) > 0 {
			body[name] = p.Value.Examples[0]
		}
	}
	b, _ := json.Marshal(body)
	return string(b)
}

// scenario is one operation's scenario on the usual server.
type scenario struct {
	w   *walker
	srv *testenv.Server
	op  operation
}

func (s *scenario) t() *testing.T { return s.w.t }

func (s *scenario) token(role string) string { return s.srv.Token(s.t(), role) }

// key creates a key of role in tenant default as the platform admin.
func (s *scenario) key(role string) keyCreated {
	return createKey(s.t(), s.srv.Client, s.token("admin"), map[string]any{"name": "truth", "role": role, "tenant_id": "default"})
}

// tenantAdmin is a token of truthTenantAdmin.
func (s *scenario) tenantAdmin() string { return s.srv.Login(s.t(), truthTenantAdmin, testPassword) }

// send records req as an answer of the scenario's operation; Method and
// Path default to the operation's.
func (s *scenario) send(probe string, req testenv.Request) {
	s.t().Helper()
	if req.Method == "" {
		req.Method = s.op.method
	}
	if req.Path == "" {
		req.Path = probePath(s.op)
	}
	s.w.send(s.srv, s.op, probe, req)
}

// newUser creates a developer of tenant default through the API and
// returns its id.
func (s *scenario) newUser(name string) string {
	var u struct {
		ID string `json:"id"`
	}
	s.srv.Post(s.t(), "/api/v1/users", s.token("admin"), map[string]string{
		"username": name, "password": testPassword, "role": "developer", "tenant_id": "default",
	}).WantStatus(s.t(), http.StatusCreated).JSON(s.t(), &u)
	return u.ID
}

// sendTo is send against another server than the usual one.
func (s *scenario) sendTo(srv *testenv.Server, probe string, req testenv.Request) {
	s.t().Helper()
	if req.Method == "" {
		req.Method = s.op.method
	}
	if req.Path == "" {
		req.Path = probePath(s.op)
	}
	s.w.send(srv, s.op, probe, req)
}

// gatewayServer is a server whose LLM gateway calls a fake provider (the
// usual server configures no model).
func (s *scenario) gatewayServer() *testenv.Server {
	fake := testenv.NewFakeOpenAI(s.t())
	return testenv.Quick(s.t(), "LLM_MODELS", testenv.FakeModels, "OPENAI_BASE_URL", fake.URL()+"/v1")
}

// reserve makes a pending reservation of 100 tokens and returns its id.
func (s *scenario) reserve(token, tenant string) string {
	var a struct {
		ReservationID string `json:"reservation_id"`
	}
	s.srv.Post(s.t(), "/api/v1/budget/request", token, budgetBody(tenant, 100, "")).WantStatus(s.t(), http.StatusOK).JSON(s.t(), &a)
	return a.ReservationID
}

func budgetBody(tenant string, tokens int, key string) map[string]any {
	b := map[string]any{"tenant_id": tenant, "project_id": "p", "task_id": "t", "model": "m", "estimated_tokens": tokens}
	if key != "" {
		b["request_id"] = key
	}
	return b
}

func settleBody(tenant, id string, actual int) map[string]any {
	b := map[string]any{"tenant_id": tenant, "project_id": "p", "reservation_id": id}
	if actual > 0 {
		b["actual_tokens"] = actual
	}
	return b
}

// task creates a task in tenant default and moves it to state (pending or
// running), returning its id.
func (s *scenario) task(state string) string {
	t := s.t()
	admin := s.token("admin")
	var task struct {
		ID string `json:"id"`
	}
	s.srv.Post(t, "/api/v1/tasks", admin, map[string]any{"tenant_id": "default", "title": "truth"}).WantStatus(t, http.StatusCreated).JSON(t, &task)
	if state == "running" {
		s.srv.Send(t, testenv.Request{Method: http.MethodPatch, Path: "/api/v1/tasks/" + task.ID, Token: admin,
			Body: map[string]any{"state": "running"}}).WantStatus(t, http.StatusOK)
	}
	return task.ID
}

// agent creates an agent in tenant default.
func (s *scenario) agent(token, id, status string) {
	s.srv.Post(s.t(), "/api/v1/agents", token, map[string]any{"tenant_id": "default", "id": id, "role": "developer", "status": status}).
		WantStatus(s.t(), http.StatusCreated)
}

// escalation opens an escalation of a new running task and returns its id.
func (s *scenario) escalation() string {
	var e struct {
		ID string `json:"id"`
	}
	s.srv.Post(s.t(), "/api/v1/escalations", s.token("admin"), escalationBody(s.task("running"))).WantStatus(s.t(), http.StatusCreated).JSON(s.t(), &e)
	return e.ID
}

func escalationBody(task string) map[string]any {
	return map[string]any{"task_id": task, "reason": "stuck", "pattern_type": "skill_gap"}
}

func reviewBody(task string, agents ...string) map[string]any {
	invited := make([]any, len(agents))
	for i, a := range agents {
		invited[i] = map[string]any{"agent_id": a, "weight": 1}
	}
	return map[string]any{"task_id": task, "agents": invited}
}

// review opens a review of a new running task in tenant default, inviting
// agents (of tenant default), and returns its id.
func (s *scenario) review(agents ...string) string {
	var r struct {
		ID string `json:"id"`
	}
	s.srv.Post(s.t(), "/api/v1/reviews", s.token("admin"), reviewBody(s.task("running"), agents...)).WantStatus(s.t(), http.StatusCreated).JSON(s.t(), &r)
	return r.ID
}

// proposal makes a proposal of role in tenant default (security and
// architect wait for a human) and returns its id.
func (s *scenario) proposal(role string) string {
	var p struct {
		ID string `json:"id"`
	}
	s.srv.Post(s.t(), "/api/v1/learning/proposals", s.token("admin"), map[string]any{
		"tenant_id": "default", "agent_role": role, "prompt_text": "truth", "learned_from_pattern": "truth",
	}).WantStatus(s.t(), http.StatusCreated).JSON(s.t(), &p)
	return p.ID
}
