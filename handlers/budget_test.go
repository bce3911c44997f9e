package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/budget"
)

// budgetServer is a running server with the tokens of the operator, bound
// to tenant acme here, and of the platform admin; after the test its
// budgets are checked against their ledger.
type budgetServer struct {
	*testenv.Server
	operator, admin string
}

func newBudgetServer(t *testing.T, kv ...string) *budgetServer {
	t.Helper()
	srv := testenv.Quick(t, kv...)
	checkBudgetLedger(t, srv.App.DB().DB)
	moveUser(t, srv, "operator", "acme")
	return &budgetServer{Server: srv, operator: srv.Token(t, "operator"), admin: srv.Token(t, "admin")}
}

// checkBudgetLedger recomputes used and reserved of every budget from the
// ledger and from the reservations after the test and compares them with
// budget_limits (DESIGN §5).
func checkBudgetLedger(t testing.TB, db *gorm.DB) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		mismatches, err := budget.Reconcile(ctx, db)
		if err != nil {
			t.Errorf("reconcile budgets: %v", err)
		}
		for _, m := range mismatches {
			t.Errorf("budget counters disagree with the ledger: %s", m)
		}
	})
}

func budgetRequestBody(tenant string, tokens any) map[string]any {
	return map[string]any{"tenant_id": tenant, "project_id": "p1", "task_id": "task-1", "model": "gpt-4o", "estimated_tokens": tokens}
}

func (s *budgetServer) request(t testing.TB, token string, body any, header map[string]string) *testenv.Response {
	t.Helper()
	return s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/budget/request", Token: token, Body: body, Header: header})
}

func (s *budgetServer) state(t testing.TB, tenant string) map[string]any {
	t.Helper()
	return s.Get(t, "/api/v1/budget/state?tenant_id="+tenant+"&project_id=p1", s.admin).WantStatus(t, http.StatusOK).Map(t)
}

func wantBudgetState(t testing.TB, got map[string]any, total, used, reserved, available, overdrawn, pending float64) {
	t.Helper()
	want := map[string]any{
		"tenant_id": got["tenant_id"], "project_id": "p1", "total": total, "used": used, "reserved": reserved,
		"available": available, "overdrawn": overdrawn, "pending_reservations": pending,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
}

func TestBudgetRequestCommitState(t *testing.T) {
	s := newBudgetServer(t)
	r := s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/budget/request", Token: s.operator,
		Body: budgetRequestBody("acme", 1500), Header: map[string]string{"X-Request-ID": "budget-flow-1"}}).WantStatus(t, http.StatusOK)
	var approval struct {
		Approved      bool      `json:"approved"`
		ReservationID string    `json:"reservation_id"`
		Allocated     int64     `json:"allocated"`
		ExpiresAt     time.Time `json:"expires_at"`
	}
	r.JSON(t, &approval)
	if !approval.Approved || approval.Allocated != 1500 || approval.ReservationID == "" {
		t.Fatalf("approval = %s", r.Body)
	}
	if d := time.Until(approval.ExpiresAt); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("expires_at %v is not an hour away", approval.ExpiresAt)
	}
	if len(r.Map(t)) != 4 {
		t.Errorf("approval has other fields than approved, reservation_id, allocated, expires_at: %s", r.Body)
	}
	if r.Header.Get("Idempotency-Replayed") != "" {
		t.Errorf("a first answer is marked replayed")
	}
	wantBudgetState(t, s.state(t, "acme"), 100_000, 0, 1500, 98_500, 0, 1)

	c := s.Post(t, "/api/v1/budget/commit", s.operator, map[string]any{
		"tenant_id": "acme", "project_id": "p1", "reservation_id": approval.ReservationID, "actual_tokens": 1320,
	}).WantStatus(t, http.StatusOK)
	want := map[string]any{"status": "committed", "reservation_id": approval.ReservationID, "tokens": float64(1320)}
	if diff := cmp.Diff(want, c.Map(t)); diff != "" {
		t.Errorf("commit (-want +got):\n%s", diff)
	}
	wantBudgetState(t, s.state(t, "acme"), 100_000, 1320, 0, 98_680, 0, 0)

	var entry models.AuditEntry
	if err := s.App.DB().Where("action = ? AND resource_id = ?", budget.ActionRequest, approval.ReservationID).Take(&entry).Error; err != nil {
		t.Fatalf("audit entry: %v", err)
	}
	if entry.RequestID != "budget-flow-1" || entry.Role != "operator" || entry.Details["tokens"] != float64(1500) {
		t.Errorf("audit entry = %+v", entry)
	}
	var ledger []models.BudgetTransaction
	s.App.DB().Where("reservation_id = ?", approval.ReservationID).Order("id").Find(&ledger)
	if len(ledger) != 2 || ledger[0].RequestID != "budget-flow-1" || ledger[1].Kind != "commit" || ledger[1].Actor != "operator" {
		t.Errorf("ledger = %+v", ledger)
	}

	rel := s.Post(t, "/api/v1/budget/release", s.operator, map[string]any{
		"tenant_id": "acme", "project_id": "p1", "reservation_id": approval.ReservationID,
	})
	if e := rel.WantError(t, http.StatusConflict, "state.conflict"); e.Details["status"] != "committed" {
		t.Errorf("release of a committed reservation: details %v", e.Details)
	}
}

func TestBudgetRelease(t *testing.T) {
	s := newBudgetServer(t)
	id := s.request(t, s.operator, budgetRequestBody("acme", 400), nil).WantStatus(t, http.StatusOK).Map(t)["reservation_id"]
	body := map[string]any{"tenant_id": "acme", "project_id": "p1", "reservation_id": id}
	for i := range 2 { // idempotent
		r := s.Post(t, "/api/v1/budget/release", s.operator, body).WantStatus(t, http.StatusOK)
		want := map[string]any{"status": "released", "reservation_id": id, "tokens": float64(400)}
		if diff := cmp.Diff(want, r.Map(t)); diff != "" {
			t.Errorf("release %d (-want +got):\n%s", i, diff)
		}
	}
	wantBudgetState(t, s.state(t, "acme"), 100_000, 0, 0, 100_000, 0, 0)
	s.Post(t, "/api/v1/budget/commit", s.operator, map[string]any{
		"tenant_id": "acme", "project_id": "p1", "reservation_id": id, "actual_tokens": 5,
	}).WantError(t, http.StatusConflict, "state.conflict")
	if n := budgetCountRows(t, s.App.DB().DB, "audit_log", "action = 'budget.release'"); n != 1 {
		t.Errorf("budget.release audit entries = %d, want 1", n)
	}
}

func budgetCountRows(t testing.TB, db *gorm.DB, table, where string) int64 {
	t.Helper()
	var n int64
	if err := db.Table(table).Where(where).Count(&n).Error; err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestBudgetSettleErrors(t *testing.T) {
	s := newBudgetServer(t)
	id := s.request(t, s.operator, budgetRequestBody("acme", 400), nil).WantStatus(t, http.StatusOK).Map(t)["reservation_id"].(string)
	commit := func(tenant, id string, actual int) *testenv.Response {
		return s.Post(t, "/api/v1/budget/commit", s.operator, map[string]any{
			"tenant_id": tenant, "project_id": "p1", "reservation_id": id, "actual_tokens": actual,
		})
	}
	commit("acme", id, 300).WantStatus(t, http.StatusOK)
	tests := []struct {
		name   string
		res    *testenv.Response
		status int
		code   string
	}{
		{"same actual tokens again", commit("acme", id, 300), http.StatusOK, ""},
		{"other actual tokens", commit("acme", id, 301), http.StatusConflict, "state.conflict"},
		{"unknown reservation", commit("acme", "00000000-0000-4000-8000-000000000000", 1), http.StatusNotFound, "resource.not_found"},
		{"not a uuid", commit("acme", "nope", 1), http.StatusNotFound, "resource.not_found"},
		{"another tenant", commit("other", id, 300), http.StatusNotFound, "resource.not_found"},
		{"upper-case id is the same reservation", commit("acme", strings.ToUpper(id), 300), http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.code == "" {
				tt.res.WantStatus(t, tt.status)
				return
			}
			tt.res.WantError(t, tt.status, tt.code)
		})
	}
	wantBudgetState(t, s.state(t, "acme"), 100_000, 300, 0, 99_700, 0, 0)
}

func TestBudgetInsufficient(t *testing.T) {
	s := newBudgetServer(t)
	s.Send(t, testenv.Request{Method: http.MethodPut, Path: "/api/v1/budget/limits", Token: s.admin,
		Body: map[string]any{"tenant_id": "acme", "project_id": "p1", "total_limit": 1000}}).WantStatus(t, http.StatusOK)
	s.request(t, s.operator, budgetRequestBody("acme", 800), nil).WantStatus(t, http.StatusOK)
	e := s.request(t, s.operator, budgetRequestBody("acme", 300), nil).WantError(t, http.StatusConflict, "budget.insufficient")
	if diff := cmp.Diff(map[string]any{"available": float64(200), "requested": float64(300)}, e.Details); diff != "" {
		t.Errorf("details (-want +got):\n%s", diff)
	}
	wantBudgetState(t, s.state(t, "acme"), 1000, 0, 800, 200, 0, 1)
}

func TestBudgetLimits(t *testing.T) {
	s := newBudgetServer(t)
	put := func(token string, total any) *testenv.Response {
		return s.Send(t, testenv.Request{Method: http.MethodPut, Path: "/api/v1/budget/limits", Token: token,
			Body: map[string]any{"tenant_id": "acme", "project_id": "p1", "total_limit": total}})
	}
	wantBudgetState(t, put(s.admin, 5000).WantStatus(t, http.StatusOK).Map(t), 5000, 0, 0, 5000, 0, 0)
	id := s.request(t, s.operator, budgetRequestBody("acme", 4000), nil).WantStatus(t, http.StatusOK).Map(t)["reservation_id"]
	// Below used+reserved: allowed; available 0 and the excess as overdrawn.
	wantBudgetState(t, put(s.admin, 3000).WantStatus(t, http.StatusOK).Map(t), 3000, 0, 4000, 0, 1000, 1)
	s.request(t, s.operator, budgetRequestBody("acme", 1), nil).WantError(t, http.StatusConflict, "budget.insufficient")
	// A frozen budget (0) is legal.
	wantBudgetState(t, put(s.admin, 0).WantStatus(t, http.StatusOK).Map(t), 0, 0, 4000, 0, 4000, 1)
	s.Post(t, "/api/v1/budget/commit", s.operator, map[string]any{
		"tenant_id": "acme", "project_id": "p1", "reservation_id": id, "actual_tokens": 3900,
	}).WantStatus(t, http.StatusOK)
	wantBudgetState(t, s.state(t, "acme"), 0, 3900, 0, 0, 3900, 0)
	put(s.operator, 10).WantError(t, http.StatusForbidden, "auth.forbidden")
	if n := budgetCountRows(t, s.App.DB().DB, "budget_transactions", "kind = 'limit_set'"); n != 3 {
		t.Errorf("limit_set ledger rows = %d, want 3", n)
	}
}

func TestBudgetStateOfUnknownBudget(t *testing.T) {
	s := newBudgetServer(t, "BUDGET_DEFAULT_LIMIT", "2500")
	wantBudgetState(t, s.state(t, "nobody"), 2500, 0, 0, 2500, 0, 0)
	if n := budgetCountRows(t, s.App.DB().DB, "budget_limits", "1 = 1"); n != 0 {
		t.Errorf("limit rows = %d, want 0 (reading creates nothing)", n)
	}
}

// TestBudgetPermissions: writes need budget.spend (the developer has it, the
// observer not), reads budget.view (not the developer), limits
// budget.configure; a refused call changes nothing. TestRBACMatrix has the
// allowed calls.
func TestBudgetPermissions(t *testing.T) {
	s := newBudgetServer(t)
	developer := s.Token(t, "developer")
	observer := s.Token(t, "observer")
	routes := []struct {
		method, path string
		refused      []string
	}{
		{http.MethodPost, "/api/v1/budget/request", []string{observer}},
		{http.MethodPost, "/api/v1/budget/commit", []string{observer}},
		{http.MethodPost, "/api/v1/budget/release", []string{observer}},
		{http.MethodGet, "/api/v1/budget/state?tenant_id=a&project_id=b", []string{developer, observer}},
		{http.MethodGet, "/api/v1/budget/reservations", []string{developer, observer}},
		{http.MethodPut, "/api/v1/budget/limits", []string{s.operator, developer, observer}},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			send := func(token string) *testenv.Response {
				return s.Send(t, testenv.Request{Method: rt.method, Path: rt.path, Token: token, Body: "{}"})
			}
			send("").WantError(t, http.StatusUnauthorized, "auth.unauthorized")
			send("not-a-token").WantError(t, http.StatusUnauthorized, "auth.unauthorized")
			for _, token := range rt.refused {
				send(token).WantError(t, http.StatusForbidden, "auth.forbidden")
			}
		})
	}
	if n := budgetCountRows(t, s.App.DB().DB, "budget_limits", "1 = 1"); n != 0 {
		t.Errorf("refused calls created %d budgets", n)
	}
}

func TestBudgetReservationsList(t *testing.T) {
	s := newBudgetServer(t)
	var want []string
	for i := range 5 {
		body, token := budgetRequestBody("acme", 10+i), s.operator
		if i == 4 {
			body["tenant_id"], token = "other", s.admin
		}
		id := s.request(t, token, body, nil).WantStatus(t, http.StatusOK).Map(t)["reservation_id"].(string)
		want = append([]string{id}, want...)
	}
	s.Post(t, "/api/v1/budget/commit", s.operator, map[string]any{
		"tenant_id": "acme", "project_id": "p1", "reservation_id": want[1], "actual_tokens": 7,
	}).WantStatus(t, http.StatusOK)

	type page struct {
		Items      []map[string]any `json:"items"`
		NextCursor *string          `json:"next_cursor"`
	}
	walk := func(token string) []string {
		var got []string
		path := "/api/v1/budget/reservations?limit=2"
		for {
			var p page
			s.Get(t, path, token).WantStatus(t, http.StatusOK).JSON(t, &p)
			for _, it := range p.Items {
				got = append(got, it["id"].(string))
			}
			if p.NextCursor == nil {
				return got
			}
			path = "/api/v1/budget/reservations?limit=2&cursor=" + *p.NextCursor
		}
	}
	// The platform admin sees every tenant's; the operator only its tenant's.
	if diff := cmp.Diff(want, walk(s.admin)); diff != "" {
		t.Errorf("ids newest first, as the platform admin (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[1:], walk(s.operator)); diff != "" {
		t.Errorf("ids newest first, as the operator of acme (-want +got):\n%s", diff)
	}
	s.Get(t, "/api/v1/budget/reservations?tenant_id=other", s.operator).WantError(t, http.StatusNotFound, "resource.not_found")

	var p page
	s.Get(t, "/api/v1/budget/reservations?tenant_id=acme&status=committed", s.operator).WantStatus(t, http.StatusOK).JSON(t, &p)
	if len(p.Items) != 1 || p.NextCursor != nil {
		t.Fatalf("committed page = %+v", p)
	}
	item := p.Items[0]
	for _, k := range []string{"created_at", "expires_at", "settled_at"} {
		if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(item[k])); err != nil {
			t.Errorf("%s = %v: %v", k, item[k], err)
		}
		delete(item, k)
	}
	wantItem := map[string]any{
		"id": want[1], "tenant_id": "acme", "project_id": "p1", "task_id": "task-1", "model": "gpt-4o", "purpose": "",
		"tokens": float64(13), "actual_tokens": float64(7), "status": "committed", "idempotency_key": nil, "created_by": "operator",
		"principal_id": s.Get(t, "/api/v1/auth/me", s.operator).WantStatus(t, http.StatusOK).Map(t)["principal_id"],
	}
	if diff := cmp.Diff(wantItem, item); diff != "" {
		t.Errorf("item (-want +got):\n%s", diff)
	}
}

func TestBudgetRouteRateLimit(t *testing.T) {
	s := newBudgetServer(t, "RATE_LIMITS_ENABLED", "true", "RATE_LIMIT_BUDGET_REQUEST", "2-M")
	for i := range 2 {
		r := s.request(t, s.operator, budgetRequestBody("acme", 10), nil).WantStatus(t, http.StatusOK)
		if r.Header.Get("X-RateLimit-Limit") == "" {
			t.Errorf("request %d has no X-RateLimit-Limit", i)
		}
	}
	r := s.request(t, s.operator, budgetRequestBody("acme", 10), nil)
	r.WantError(t, http.StatusTooManyRequests, "rate_limit.exceeded")
	// Only /budget/request has the route limit.
	s.Get(t, "/api/v1/budget/state?tenant_id=acme&project_id=p1", s.operator).WantStatus(t, http.StatusOK)
	wantBudgetState(t, s.state(t, "acme"), 100_000, 0, 20, 99_980, 0, 2)
}

func TestBudgetSweeperWired(t *testing.T) {
	s := newBudgetServer(t, "BUDGET_RESERVATION_TTL", "1s", "BUDGET_SWEEP_INTERVAL", "50ms")
	id := s.request(t, s.operator, budgetRequestBody("acme", 10), nil).WantStatus(t, http.StatusOK).Map(t)["reservation_id"]
	testenv.Wait(t, 15*time.Second, "the sweeper to expire the reservation", func() bool {
		return s.state(t, "acme")["pending_reservations"] == float64(0)
	})
	wantBudgetState(t, s.state(t, "acme"), 100_000, 0, 0, 100_000, 0, 0)
	s.Post(t, "/api/v1/budget/release", s.operator, map[string]any{
		"tenant_id": "acme", "project_id": "p1", "reservation_id": id,
	}).WantError(t, http.StatusConflict, "state.conflict")
	metrics := string(s.Get(t, "/metrics", "").WantStatus(t, http.StatusOK).Body)
	for _, line := range []string{
		"budget_expired_total 1", `budget_requests_total{status="approved"} 1`,
		`budget_requests_total{status="insufficient"} 0`, "budget_commits_total 0", "budget_releases_total 0",
	} {
		if !strings.Contains(metrics, "\n"+line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}
