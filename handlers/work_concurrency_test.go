package handlers_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// TestWorkTwoProcesses runs the races of the work resources through two
// server processes sharing one database (PostgreSQL with TEST_DATABASE_URL,
// else one SQLite file): 20 PATCHes of one task carrying the same version,
// and 20 resolves of one escalation, split across both. Exactly one of each
// wins, the others are 409 state.conflict, and the stored history shows one
// change each.
func TestWorkTwoProcesses(t *testing.T) {
	env := testenv.New(t)
	vars := map[string]string{
		"JWT_SECRET": "work-two-processes-secret-0123456789abcdef", "RATE_LIMITS_ENABLED": "false",
		"SEED_DEMO_USERS": "true", "BCRYPT_COST": "4", "LOG_LEVEL": "warn",
	}
	if env.DatabaseURL != "" {
		vars["DATABASE_URL"] = env.DatabaseURL
	} else {
		vars["SQLITE_PATH"] = filepath.Join(t.TempDir(), "shared.db")
	}
	binary := testenv.BuildBinary(t)
	urlA, _ := testenv.StartProcess(t, binary, vars)
	urlB, _ := testenv.StartProcess(t, binary, vars)
	a, b := testenv.NewClient(urlA), testenv.NewClient(urlB)
	clients := []*testenv.Client{a, b}
	admin := a.Token(t, "admin") // one JWT_SECRET: valid on both

	var task struct {
		ID      string `json:"id"`
		Version int64  `json:"version"`
	}
	a.Post(t, "/api/v1/tasks", admin, map[string]any{"tenant_id": "acme", "title": "race"}).WantStatus(t, http.StatusCreated).JSON(t, &task)
	path := "/api/v1/tasks/" + task.ID

	tally := fire(clients, 20, func(i int) testenv.Request {
		return testenv.Request{Method: http.MethodPatch, Path: path, Token: admin,
			Body: map[string]any{"title": fmt.Sprint("title ", i), "state": "running", "version": task.Version}}
	})
	if len(tally.unexpected) > 0 || tally.approved != 1 || tally.refused != 19 {
		t.Fatalf("concurrent PATCH: won %d, refused %d, unexpected %v; want 1 and 19", tally.approved, tally.refused, tally.unexpected)
	}
	for _, c := range clients {
		got := c.Get(t, path, admin).WantStatus(t, http.StatusOK).Map(t)
		if got["version"] != float64(2) || got["state"] != "running" {
			t.Errorf("task = %v; want version 2, running", got)
		}
	}
	wantEvents(t, b, admin, task.ID, map[string]int{"created": 1, "updated": 1, "state": 1})

	var esc struct {
		ID        string `json:"id"`
		TaskState string `json:"task_state"`
	}
	b.Post(t, "/api/v1/escalations", admin, escalationBody(task.ID)).WantStatus(t, http.StatusCreated).JSON(t, &esc)
	if esc.TaskState != "escalated" {
		t.Fatalf("task_state after opening = %q, want escalated", esc.TaskState)
	}
	tally = fire(clients, 20, func(i int) testenv.Request {
		return testenv.Request{Method: http.MethodPost, Path: "/api/v1/escalations/" + esc.ID + "/resolve", Token: admin,
			Body: map[string]any{"resolution": fmt.Sprint("fix ", i)}}
	})
	if len(tally.unexpected) > 0 || tally.approved != 1 || tally.refused != 19 {
		t.Fatalf("concurrent resolve: won %d, refused %d, unexpected %v; want 1 and 19", tally.approved, tally.refused, tally.unexpected)
	}
	got := a.Get(t, path, admin).WantStatus(t, http.StatusOK).Map(t)
	if got["version"] != float64(4) || got["state"] != "running" {
		t.Errorf("task after the resolve = %v; want version 4 (escalated, running again), running", got)
	}
	wantEvents(t, a, admin, task.ID, map[string]int{"created": 1, "updated": 1, "state": 3})
	var audit struct {
		Items []map[string]any `json:"items"`
	}
	a.Get(t, "/api/v1/audit?action=escalation.resolve", admin).WantStatus(t, http.StatusOK).JSON(t, &audit)
	if len(audit.Items) != 1 {
		t.Errorf("escalation.resolve audit entries = %d, want 1", len(audit.Items))
	}
}

// wantEvents wants a task's history to hold events of each kind as counted.
func wantEvents(t *testing.T, c *testenv.Client, token, task string, want map[string]int) {
	t.Helper()
	var page struct {
		Items []struct {
			Kind string `json:"kind"`
		} `json:"items"`
	}
	c.Get(t, "/api/v1/tasks/"+task+"/events?limit=200", token).WantStatus(t, http.StatusOK).JSON(t, &page)
	got := map[string]int{}
	for _, e := range page.Items {
		got[e.Kind]++
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events by kind = %v, want %v", got, want)
	}
}
