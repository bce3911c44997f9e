package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/stats"
	"github.com/golden-architecture/control-plane/services/tenants"
)

type statsBody struct {
	Version                   string    `json:"version"`
	TenantID                  *string   `json:"tenant_id"`
	DLQUnresolved             *int64    `json:"dlq_unresolved"`
	BudgetPendingReservations *int64    `json:"budget_pending_reservations"`
	Users                     *int64    `json:"users"`
	AuditEntries24h           *int64    `json:"audit_entries_24h"`
	GeneratedAt               time.Time `json:"generated_at"`
}

func getStats(t *testing.T, srv *testenv.Server, token string) statsBody {
	t.Helper()
	r := srv.Get(t, "/api/v1/stats", token)
	r.WantStatus(t, http.StatusOK)
	var b statsBody
	r.JSON(t, &b)
	if b.DLQUnresolved == nil || b.BudgetPendingReservations == nil || b.Users == nil || b.AuditEntries24h == nil {
		t.Fatalf("stats body %s lacks a count", r.Body)
	}
	return b
}

// TestStatsCountsTheDatabase stores known rows and checks each count a
// platform principal gets, that resolved, settled and old rows are not
// counted, and that reading the stats changes nothing.
func TestStatsCountsTheDatabase(t *testing.T) {
	srv := testenv.Quick(t)
	token := srv.Token(t, "admin")
	db := srv.App.DB().DB

	empty := getStats(t, srv, token)
	if *empty.DLQUnresolved != 0 || *empty.BudgetPendingReservations != 0 || *empty.Users != 4 {
		t.Errorf("fresh stats dlq, pending, users = %d, %d, %d; want 0, 0, 4 (the demo users)",
			*empty.DLQUnresolved, *empty.BudgetPendingReservations, *empty.Users)
	}
	if empty.Version != "test" || empty.TenantID != nil {
		t.Errorf("version = %q, tenant_id = %v; want test and null (the whole platform)", empty.Version, empty.TenantID)
	}
	if age := time.Since(empty.GeneratedAt); age < -time.Minute || age > time.Minute {
		t.Errorf("generated_at = %v, want about now", empty.GeneratedAt)
	}

	now := time.Now().UTC()
	seedStatsRows(t, db, now)
	before := countRows(t, db)

	got := getStats(t, srv, token)
	want := map[string]int64{"dlq_unresolved": 3, "budget_pending_reservations": 2, "users": 5,
		"audit_entries_24h": *empty.AuditEntries24h + 2}
	have := map[string]int64{"dlq_unresolved": *got.DLQUnresolved, "budget_pending_reservations": *got.BudgetPendingReservations,
		"users": *got.Users, "audit_entries_24h": *got.AuditEntries24h}
	for k, w := range want {
		if have[k] != w {
			t.Errorf("%s = %d, want %d", k, have[k], w)
		}
	}
	if diff := cmp.Diff(before, countRows(t, db)); diff != "" {
		t.Errorf("row counts changed by GET /stats (-before +after):\n%s", diff)
	}
}

// seedStatsRows stores 3 unresolved and 2 resolved DLQ messages, 2 pending
// and 2 settled reservations, 1 disabled user, 2 recent and 1 old audit entry.
func seedStatsRows(t *testing.T, db *gorm.DB, now time.Time) {
	t.Helper()
	exec := func(sql string, args ...any) {
		t.Helper()
		if err := db.Exec(sql, args...).Error; err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	for i := range 5 {
		exec(`INSERT INTO dlq_messages (id, stream_seq, original_subject, data, resolved) VALUES (?, ?, ?, ?, ?)`,
			randomUUID(t), 1000+i, "agents.tasks", []byte(`{"n":1}`), i >= 3)
	}
	exec(`INSERT INTO budget_limits (tenant_id, project_id, total_limit, used, reserved) VALUES (?, ?, ?, ?, ?)`,
		"stats-tenant", "stats-project", 10000, 30, 300)
	reservation := func(status string, actual any, settled any) {
		exec(`INSERT INTO budget_reservations (id, tenant_id, project_id, task_id, model, tokens, actual_tokens, status,
			request_hash, created_by, created_at, expires_at, settled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			randomUUID(t), "stats-tenant", "stats-project", "task", "gpt", 150, actual, status,
			"hash", "admin", now, now.Add(time.Hour), settled)
	}
	reservation("pending", nil, nil)
	reservation("pending", nil, nil)
	reservation("committed", 30, now)
	reservation("released", nil, now)
	exec(`INSERT INTO users (id, username, password_hash, role, disabled) VALUES (?, ?, ?, ?, ?)`,
		randomUUID(t), "stats-disabled", "$2a$04$notarealhash", "observer", true)
	for _, at := range []time.Time{now.Add(-time.Minute), now.Add(-23 * time.Hour), now.Add(-25 * time.Hour)} {
		exec(`INSERT INTO audit_log (action, details, created_at) VALUES (?, ?, ?)`, "stats.test", "{}", at)
	}
}

func countRows(t *testing.T, db *gorm.DB) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, table := range []string{"dlq_messages", "budget_reservations", "users", "audit_log"} {
		var n int64
		if err := db.Raw("SELECT count(*) FROM " + table).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

// TestStatsOfATenant: a caller bound to a tenant gets the counts of its
// tenant's data only (budgets, accounts, tasks, escalations, agents), and
// null for the platform-level counts; a platform principal gets every
// tenant's.
func TestStatsOfATenant(t *testing.T) {
	srv := testenv.Quick(t)
	db := srv.App.DB().DB
	seedStatsRows(t, db, time.Now().UTC()) // pending reservations of stats-tenant, a user without a tenant
	admin := srv.Token(t, "admin")
	for _, tenant := range []string{"default", "default", "other"} {
		srv.Post(t, "/api/v1/budget/request", admin, map[string]any{
			"tenant_id": tenant, "project_id": "p", "task_id": "t", "model": "m", "estimated_tokens": 1,
		}).WantStatus(t, http.StatusOK)
	}
	// Work in default: an active and a paused agent, a pending task, a
	// running one and one escalated twice (one escalation resolved), a
	// deleted one; in other: an agent and an escalated task.
	for _, a := range []struct{ tenant, id, status string }{{"default", "a1", "active"}, {"default", "a2", "paused"}, {"other", "a1", "active"}} {
		srv.Post(t, "/api/v1/agents", admin, map[string]any{"tenant_id": a.tenant, "id": a.id, "role": "tester", "status": a.status}).
			WantStatus(t, http.StatusCreated)
	}
	task := func(tenant, state string) string {
		var tk struct {
			ID string `json:"id"`
		}
		srv.Post(t, "/api/v1/tasks", admin, map[string]any{"tenant_id": tenant, "title": "t"}).WantStatus(t, http.StatusCreated).JSON(t, &tk)
		if state != "pending" {
			srv.Send(t, testenv.Request{Method: http.MethodPatch, Path: "/api/v1/tasks/" + tk.ID, Token: admin, Body: map[string]any{"state": state}}).
				WantStatus(t, http.StatusOK)
		}
		return tk.ID
	}
	escalate := func(task, pattern string) string {
		var e struct {
			ID string `json:"id"`
		}
		srv.Post(t, "/api/v1/escalations", admin, map[string]any{"task_id": task, "reason": "r", "pattern_type": pattern}).
			WantStatus(t, http.StatusCreated).JSON(t, &e)
		return e.ID
	}
	task("default", "pending")
	task("default", "running")
	stuck := task("default", "running")
	escalate(stuck, "skill_gap")
	srv.Post(t, "/api/v1/escalations/"+escalate(stuck, "process_issue")+"/resolve", admin, map[string]any{"resolution": "ok"}).
		WantStatus(t, http.StatusOK)
	srv.Send(t, testenv.Request{Method: http.MethodDelete, Path: "/api/v1/tasks/" + task("default", "pending"), Token: admin}).WantStatus(t, http.StatusOK)
	other := task("other", "running")
	escalate(other, "agent_conflict")
	// Learning and reviews: a security prompt waiting for a human in
	// default, an open review in each tenant and a decided one in default.
	srv.Post(t, "/api/v1/learning/proposals", admin, map[string]any{
		"tenant_id": "default", "agent_role": "security", "prompt_text": "p", "learned_from_pattern": "x",
	}).WantStatus(t, http.StatusCreated)
	review := func(task string) string {
		var rv struct {
			ID string `json:"id"`
		}
		srv.Post(t, "/api/v1/reviews", admin, map[string]any{"task_id": task, "agents": []any{map[string]any{"agent_id": "a1", "weight": 1}}}).
			WantStatus(t, http.StatusCreated).JSON(t, &rv)
		return rv.ID
	}
	srv.Post(t, "/api/v1/reviews/"+review(stuck)+"/votes", admin, map[string]any{"agent_id": "a1", "vote": "approve"}).WantStatus(t, http.StatusCreated)
	review(stuck)
	review(other)

	r := srv.Get(t, "/api/v1/stats", srv.Token(t, "observer")).WantStatus(t, http.StatusOK)
	var got map[string]any
	r.JSON(t, &got)
	delete(got, "generated_at")
	want := map[string]any{
		"version": "test", "tenant_id": "default", "dlq_unresolved": nil, "audit_entries_24h": nil,
		"budget_pending_reservations": float64(2), "users": float64(3), // operator, developer, observer
		"tasks_by_state":              map[string]any{"pending": 1.0, "running": 1.0, "review": 0.0, "completed": 0.0, "escalated": 1.0, "failed": 0.0, "cancelled": 0.0},
		"escalations_open_by_pattern": map[string]any{"skill_gap": 1.0, "agent_conflict": 0.0, "process_issue": 0.0},
		"agents_by_status":            map[string]any{"active": 1.0, "paused": 1.0, "retired": 0.0},
		"pending_proposals":           1.0, "open_reviews": 1.0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stats of tenant default (-want +got):\n%s", diff)
	}
	all := srv.Get(t, "/api/v1/stats", admin).WantStatus(t, http.StatusOK).Map(t)
	wantAll := map[string]any{
		"tasks_by_state":              map[string]any{"pending": 1.0, "running": 1.0, "review": 0.0, "completed": 0.0, "escalated": 2.0, "failed": 0.0, "cancelled": 0.0},
		"escalations_open_by_pattern": map[string]any{"skill_gap": 1.0, "agent_conflict": 1.0, "process_issue": 0.0},
		"agents_by_status":            map[string]any{"active": 2.0, "paused": 1.0, "retired": 0.0},
		"pending_proposals":           1.0, "open_reviews": 2.0,
	}
	for k, w := range wantAll {
		if diff := cmp.Diff(w, all[k]); diff != "" {
			t.Errorf("platform %s (-want +got):\n%s", k, diff)
		}
	}
}

func TestStatsAccess(t *testing.T) {
	srv := testenv.Quick(t)
	tests := []struct {
		name  string
		token func(t *testing.T) string
		want  int
		code  string
	}{
		{"no token", func(*testing.T) string { return "" }, http.StatusUnauthorized, "auth.unauthorized"},
		{"malformed token", func(*testing.T) string { return "not-a-jwt" }, http.StatusUnauthorized, "auth.unauthorized"},
		{"admin", func(t *testing.T) string { return srv.Token(t, "admin") }, http.StatusOK, ""},
		{"operator", func(t *testing.T) string { return srv.Token(t, "operator") }, http.StatusOK, ""},
		{"developer", func(t *testing.T) string { return srv.Token(t, "developer") }, http.StatusOK, ""},
		{"observer", func(t *testing.T) string { return srv.Token(t, "observer") }, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := srv.Get(t, "/api/v1/stats", tt.token(t))
			if tt.code != "" {
				r.WantError(t, tt.want, tt.code)
				return
			}
			r.WantStatus(t, tt.want)
		})
	}
}

// TestStatsRateLimit: the route uses the "health" scope (RATE_LIMIT_HEALTH).
func TestStatsRateLimit(t *testing.T) {
	srv := testenv.Quick(t, "RATE_LIMIT_HEALTH", "2-M")
	token := srv.Token(t, "observer")
	for i := range 2 {
		r := srv.Get(t, "/api/v1/stats", token)
		r.WantStatus(t, http.StatusOK)
		if r.Header.Get("X-RateLimit-Limit") == "" {
			t.Errorf("request %d: no X-RateLimit-Limit header", i+1)
		}
	}
	r := srv.Get(t, "/api/v1/stats", token)
	r.WantError(t, http.StatusTooManyRequests, "rate_limit.exceeded")
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
}

// fakeVerifier accepts any token naming a role.
type fakeVerifier struct{}

func (fakeVerifier) Verify(_ context.Context, token string) (auth.Identity, error) {
	return auth.Identity{UserID: "u-" + token, Username: token, Role: auth.Role(token)}, nil
}

type fakeCounter struct {
	counts stats.Counts
	err    error
}

func (f fakeCounter) Counts(context.Context, string) (stats.Counts, error) { return f.counts, f.err }

// TestStatsHandler covers what the demo users cannot reach: a role without
// metrics.view (403) and a failing database (500 without its text).
func TestStatsHandler(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	at := time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)
	newRouter := func(c handlers.StatsCounter) http.Handler {
		r, err := handlers.NewRouter(handlers.Deps{
			Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
			Version:     "v9",
			HTTPMetrics: middleware.NewHTTPMetrics(prometheus.NewRegistry()),
			Metrics:     http.NotFoundHandler(),
			Health:      &handlers.Health{},
			Verifier:    fakeVerifier{},
			// The fake identities are platform principals: the tenant rule
			// needs no database for them.
			Resources: []handlers.Resource{&handlers.Stats{Counter: c, Tenants: tenants.New(nil, nil), Version: "v9"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	one, four := int64(1), int64(4)
	ok := fakeCounter{counts: stats.Counts{DLQUnresolved: &one, BudgetPendingReservations: 2, Users: 3, AuditEntries24h: &four, GeneratedAt: at,
		TasksByState: map[string]int64{"running": 5}, OpenEscalationsByPattern: map[string]int64{"skill_gap": 1}, AgentsByStatus: map[string]int64{"active": 2},
		PendingProposals: 6, OpenReviews: 7}}
	failing := fakeCounter{err: fmt.Errorf("count stats: %w", errors.New("pq: relation secret_table does not exist"))}
	tests := []struct {
		name     string
		counter  handlers.StatsCounter
		role     string
		want     int
		wantBody string
	}{
		{"observer", ok, "observer", 200,
			`{"version":"v9","tenant_id":null,"dlq_unresolved":1,"budget_pending_reservations":2,"users":3,"audit_entries_24h":4,` +
				`"tasks_by_state":{"running":5},"escalations_open_by_pattern":{"skill_gap":1},"agents_by_status":{"active":2},` +
				`"pending_proposals":6,"open_reviews":7,"generated_at":"2025-01-31T12:00:00Z"}`},
		{"role without metrics.view", ok, "anonymous", 403, `"error_code":"auth.forbidden"`},
		{"database fails", failing, "admin", 500, `"error_code":"internal.error"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/api/v1/stats", nil)
			req.Header.Set("Authorization", "Bearer "+tt.role)
			rec := httptest.NewRecorder()
			newRouter(tt.counter).ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
			body := rec.Body.String()
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("body = %s, want it to contain %s", body, tt.wantBody)
			}
			if strings.Contains(body, "secret_table") {
				t.Errorf("body %s leaks the database error", body)
			}
		})
	}
}
