package handlers_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/auth"
)

// TestReadmeWalkthrough makes the calls of README "Walkthrough": agents, a
// task assigned to one, run (a stale version refused), escalate, resolve as
// the operator, review, a peer review that fails and escalates the task
// (agent_conflict), resolve it, review, complete; and checks the answers,
// the stored task, its history, the audit trail, the stats and the metrics.
func TestReadmeWalkthrough(t *testing.T) {
	srv := testenv.Quick(t)
	admin, operator := srv.Token(t, "admin"), srv.Token(t, "operator")
	patch := func(token, id string, body map[string]any) *testenv.Response {
		return srv.Send(t, testenv.Request{Method: http.MethodPatch, Path: "/api/v1/tasks/" + id, Token: token, Body: body})
	}

	for _, a := range []struct{ id, role string }{{"builder-1", "developer"}, {"reviewer-1", "reviewer"}, {"security-1", "security"}} {
		srv.Post(t, "/api/v1/agents", admin, map[string]any{"tenant_id": "default", "id": a.id, "role": a.role}).
			WantStatus(t, http.StatusCreated)
	}
	var task struct {
		ID            string   `json:"id"`
		State         string   `json:"state"`
		Version       int64    `json:"version"`
		AgentID       *string  `json:"agent_id"`
		AllowedStates []string `json:"allowed_states"`
	}
	srv.Post(t, "/api/v1/tasks", admin, map[string]any{"tenant_id": "default", "title": "Fix the flaky login test", "agent_id": "builder-1"}).
		WantStatus(t, http.StatusCreated).JSON(t, &task)
	if task.State != "pending" || task.Version != 1 || task.AgentID == nil || *task.AgentID != "builder-1" ||
		!cmp.Equal(task.AllowedStates, []string{"running", "failed", "cancelled"}) {
		t.Fatalf("new task = %+v", task)
	}

	r := patch(admin, task.ID, map[string]any{"state": "running", "version": 1}).WantStatus(t, http.StatusOK)
	if r.Header.Get("ETag") != `"2"` {
		t.Errorf("ETag = %q, want \"2\"", r.Header.Get("ETag"))
	}
	e := patch(admin, task.ID, map[string]any{"state": "running", "version": 1}).WantError(t, http.StatusConflict, "state.conflict")
	if e.Details["version"] != float64(2) {
		t.Errorf("stale version details = %v", e.Details)
	}
	// If-Match says the same as the body version.
	srv.Send(t, testenv.Request{Method: http.MethodPatch, Path: "/api/v1/tasks/" + task.ID, Token: admin,
		Header: map[string]string{"If-Match": `"1"`}, Body: map[string]any{"title": "x"}}).WantError(t, http.StatusConflict, "state.conflict")
	e = patch(admin, task.ID, map[string]any{"state": "completed"}).WantError(t, http.StatusConflict, "state.conflict")
	if !cmp.Equal(e.Details["allowed_states"], []any{"review", "failed", "cancelled"}) {
		t.Errorf("illegal move details = %v", e.Details)
	}

	var esc struct {
		ID        string `json:"id"`
		TaskState string `json:"task_state"`
		Resolved  bool   `json:"resolved"`
	}
	srv.Post(t, "/api/v1/escalations", admin, map[string]any{"task_id": task.ID, "reason": "cannot reproduce", "pattern_type": "skill_gap"}).
		WantStatus(t, http.StatusCreated).JSON(t, &esc)
	if esc.TaskState != "escalated" || esc.Resolved {
		t.Fatalf("escalation = %+v", esc)
	}
	srv.Get(t, "/api/v1/tasks/"+task.ID, admin).WantStatus(t, http.StatusOK).JSON(t, &task)
	if task.State != "escalated" || task.Version != 3 || !cmp.Equal(task.AllowedStates, []string{"failed", "cancelled"}) {
		t.Errorf("escalated task = %+v", task)
	}
	if got := testenv.MetricSum(t, srv.App.Registry(), "escalations_open", nil); got != 1 {
		t.Errorf("escalations_open = %v, want 1", got)
	}
	// The operator may not open escalations, and the developer may not resolve them.
	srv.Post(t, "/api/v1/escalations", operator, map[string]any{"task_id": task.ID, "reason": "r", "pattern_type": "skill_gap"}).
		WantError(t, http.StatusForbidden, "auth.forbidden")
	srv.Post(t, "/api/v1/escalations/"+esc.ID+"/resolve", srv.Token(t, "developer"), map[string]any{"resolution": "r"}).
		WantError(t, http.StatusForbidden, "auth.forbidden")

	srv.Post(t, "/api/v1/escalations/"+esc.ID+"/resolve", operator, map[string]any{"resolution": "granted CI log access"}).
		WantStatus(t, http.StatusOK).JSON(t, &esc)
	if esc.TaskState != "running" || !esc.Resolved {
		t.Fatalf("resolved escalation = %+v", esc)
	}
	// In review, the agents disagree: the review fails and escalates the
	// task as agent_conflict; the operator settles it.
	patch(admin, task.ID, map[string]any{"state": "review"}).WantStatus(t, http.StatusOK)
	var rv struct {
		ID             string  `json:"id"`
		Status         string  `json:"status"`
		ConsensusScore float64 `json:"consensus_score"`
		EscalationID   *string `json:"escalation_id"`
		TaskState      *string `json:"task_state"`
	}
	srv.Post(t, "/api/v1/reviews", srv.Token(t, "developer"), map[string]any{"task_id": task.ID, "quorum": 0.75, "agents": []any{
		map[string]any{"agent_id": "reviewer-1", "weight": 2}, map[string]any{"agent_id": "security-1", "weight": 1},
	}}).WantStatus(t, http.StatusCreated).JSON(t, &rv)
	vote := func(agent, decision string) {
		var out struct {
			Review *struct {
				Status         string  `json:"status"`
				ConsensusScore float64 `json:"consensus_score"`
				EscalationID   *string `json:"escalation_id"`
				TaskState      *string `json:"task_state"`
			} `json:"review"`
		}
		srv.Post(t, "/api/v1/reviews/"+rv.ID+"/votes", admin, map[string]any{"agent_id": agent, "vote": decision, "reasoning": "walkthrough"}).
			WantStatus(t, http.StatusCreated).JSON(t, &out)
		rv.Status, rv.ConsensusScore, rv.EscalationID, rv.TaskState = out.Review.Status, out.Review.ConsensusScore, out.Review.EscalationID, out.Review.TaskState
	}
	vote("security-1", "approve")
	if rv.Status != "open" || rv.EscalationID != nil {
		t.Fatalf("review after one approval = %+v, want open", rv)
	}
	vote("reviewer-1", "reject")
	if rv.Status != "failed" || rv.EscalationID == nil || rv.TaskState == nil || *rv.TaskState != "escalated" || rv.ConsensusScore*3 != 1 {
		t.Fatalf("review after the rejection = %+v, want failed with an escalation, task escalated, score 1/3", rv)
	}
	srv.Post(t, "/api/v1/reviews/"+rv.ID+"/votes", admin, map[string]any{"agent_id": "security-1", "vote": "approve"}).
		WantError(t, http.StatusConflict, "state.conflict")
	conflict := srv.Get(t, "/api/v1/escalations/"+*rv.EscalationID, operator).WantStatus(t, http.StatusOK).Map(t)
	if conflict["pattern_type"] != "agent_conflict" || conflict["task_id"] != task.ID || conflict["resolved"] != false {
		t.Errorf("review escalation = %v", conflict)
	}
	srv.Post(t, "/api/v1/escalations/"+*rv.EscalationID+"/resolve", operator, map[string]any{"resolution": "split the fix in two"}).
		WantStatus(t, http.StatusOK).JSON(t, &esc)
	if esc.TaskState != "running" {
		t.Fatalf("resolved review escalation = %+v", esc)
	}

	patch(admin, task.ID, map[string]any{"state": "review"}).WantStatus(t, http.StatusOK)
	patch(srv.Token(t, "developer"), task.ID, map[string]any{"state": "completed"}).WantStatus(t, http.StatusOK).JSON(t, &task)
	if task.State != "completed" || task.Version != 9 || len(task.AllowedStates) != 0 {
		t.Errorf("completed task = %+v", task)
	}

	var events struct {
		Items []struct {
			Kind      string  `json:"kind"`
			FromState *string `json:"from_state"`
			ToState   *string `json:"to_state"`
			Version   int64   `json:"version"`
		} `json:"items"`
	}
	srv.Get(t, "/api/v1/tasks/"+task.ID+"/events", srv.Token(t, "observer")).WantStatus(t, http.StatusOK).JSON(t, &events)
	var got []string
	for _, ev := range events.Items {
		from, to := "", ""
		if ev.FromState != nil {
			from = *ev.FromState
		}
		if ev.ToState != nil {
			to = *ev.ToState
		}
		got = append(got, ev.Kind+" "+from+">"+to)
	}
	want := []string{"state review>completed", "state running>review", "state escalated>running", "state review>escalated",
		"state running>review", "state escalated>running", "state running>escalated", "state pending>running", "created >pending"} // newest first
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}

	var actions []string
	if err := srv.App.DB().DB.Model(&models.AuditEntry{}).Where("action LIKE 'task.%' OR action LIKE 'agent.%' OR action LIKE 'escalation.%' OR action LIKE 'review.%'").
		Order("id").Pluck("action", &actions).Error; err != nil {
		t.Fatal(err)
	}
	wantActions := []string{"agent.create", "agent.create", "agent.create", "task.create", "task.update", "escalation.create", "escalation.resolve",
		"task.update", "review.create", "review.vote", "review.vote", "escalation.create", "review.fail", "escalation.resolve", "task.update", "task.update"}
	if diff := cmp.Diff(wantActions, actions); diff != "" {
		t.Errorf("audit actions (-want +got):\n%s", diff)
	}

	st := srv.Get(t, "/api/v1/stats", operator).WantStatus(t, http.StatusOK).Map(t)
	if c := st["tasks_by_state"].(map[string]any); c["completed"] != 1.0 || c["escalated"] != 0.0 {
		t.Errorf("stats tasks_by_state = %v", c)
	}
	if st["open_reviews"] != 0.0 || st["pending_proposals"] != 0.0 {
		t.Errorf("stats open_reviews, pending_proposals = %v, %v; want 0, 0", st["open_reviews"], st["pending_proposals"])
	}
	for state, n := range map[string]float64{"pending": 1, "running": 3, "escalated": 2, "review": 2, "completed": 1} {
		if got := testenv.MetricSum(t, srv.App.Registry(), "tasks_total", map[string]string{"state": state}); got != n {
			t.Errorf("tasks_total{state=%q} = %v, want %v", state, got, n)
		}
	}
	if got := testenv.MetricSum(t, srv.App.Registry(), "escalations_open", nil); got != 0 {
		t.Errorf("escalations_open = %v, want 0", got)
	}
	if got := testenv.MetricSum(t, srv.App.Registry(), "reviews_total", map[string]string{"outcome": "failed"}); got != 1 {
		t.Errorf("reviews_total{outcome=failed} = %v, want 1", got)
	}
}

// TestWorkTenantIsolation: a tenant-bound caller reaches none of another
// tenant's tasks, agents, escalations and reviews by id — each answer is 404, the same
// as for an id that does not exist — and changes none of them; the platform
// admin reaches them all.
func TestWorkTenantIsolation(t *testing.T) {
	srv := testenv.Quick(t)
	admin := srv.Token(t, "admin")
	acme := addUser(t, srv, "acme-admin", auth.RoleAdmin, "acme") // every permission, tenant acme
	var task, esc struct {
		ID string `json:"id"`
	}
	srv.Post(t, "/api/v1/agents", admin, map[string]any{"tenant_id": "globex", "id": "g-bot", "role": "tester"}).WantStatus(t, http.StatusCreated)
	srv.Post(t, "/api/v1/tasks", admin, map[string]any{"tenant_id": "globex", "title": "secret"}).WantStatus(t, http.StatusCreated).JSON(t, &task)
	srv.Send(t, testenv.Request{Method: http.MethodPatch, Path: "/api/v1/tasks/" + task.ID, Token: admin, Body: map[string]any{"state": "running"}}).
		WantStatus(t, http.StatusOK)
	srv.Post(t, "/api/v1/escalations", admin, map[string]any{"task_id": task.ID, "reason": "r", "pattern_type": "skill_gap"}).
		WantStatus(t, http.StatusCreated).JSON(t, &esc)
	var rev, acmeTask struct {
		ID string `json:"id"`
	}
	srv.Post(t, "/api/v1/reviews", admin, map[string]any{"task_id": task.ID, "agents": []any{map[string]any{"agent_id": "g-bot"}}}).
		WantStatus(t, http.StatusCreated).JSON(t, &rev)
	// acme's own running task, to invite globex's agent to.
	srv.Post(t, "/api/v1/tasks", acme, map[string]any{"title": "mine"}).WantStatus(t, http.StatusCreated).JSON(t, &acmeTask)
	srv.Send(t, testenv.Request{Method: http.MethodPatch, Path: "/api/v1/tasks/" + acmeTask.ID, Token: acme, Body: map[string]any{"state": "running"}}).
		WantStatus(t, http.StatusOK)

	for _, id := range []struct{ task, esc, agent, review string }{{task.ID, esc.ID, "g-bot", rev.ID}, {noSuchID, noSuchID, "nobody", noSuchID}} {
		for _, req := range []testenv.Request{
			{Method: http.MethodGet, Path: "/api/v1/tasks/" + id.task},
			{Method: http.MethodGet, Path: "/api/v1/tasks/" + id.task + "/events"},
			{Method: http.MethodPatch, Path: "/api/v1/tasks/" + id.task, Body: map[string]any{"state": "cancelled"}},
			{Method: http.MethodDelete, Path: "/api/v1/tasks/" + id.task},
			{Method: http.MethodPost, Path: "/api/v1/escalations", Body: map[string]any{"task_id": id.task, "reason": "r", "pattern_type": "skill_gap"}},
			{Method: http.MethodGet, Path: "/api/v1/escalations/" + id.esc},
			{Method: http.MethodPost, Path: "/api/v1/escalations/" + id.esc + "/resolve", Body: map[string]any{"resolution": "mine now"}},
			{Method: http.MethodGet, Path: "/api/v1/agents/" + id.agent},
			{Method: http.MethodPatch, Path: "/api/v1/agents/" + id.agent, Body: map[string]any{"status": "retired"}},
			{Method: http.MethodPost, Path: "/api/v1/reviews", Body: map[string]any{"task_id": id.task, "agents": []any{map[string]any{"agent_id": id.agent}}}},
			{Method: http.MethodPost, Path: "/api/v1/reviews", Body: map[string]any{"task_id": acmeTask.ID, "agents": []any{map[string]any{"agent_id": id.agent}}}},
			{Method: http.MethodGet, Path: "/api/v1/reviews/" + id.review},
			{Method: http.MethodPost, Path: "/api/v1/reviews/" + id.review + "/votes", Body: map[string]any{"agent_id": "g-bot", "vote": "approve"}},
		} {
			t.Run(req.Method+" "+req.Path, func(t *testing.T) {
				req.Token = acme
				e := srv.Send(t, req).WantError(t, http.StatusNotFound, "resource.not_found")
				if e.Details != nil {
					t.Errorf("404 details = %v, want none", e.Details)
				}
			})
		}
	}
	// Lists show none of globex's work.
	for _, path := range []string{"/api/v1/tasks?state=escalated", "/api/v1/agents", "/api/v1/escalations", "/api/v1/reviews"} {
		if items := srv.Get(t, path, acme).WantStatus(t, http.StatusOK).Map(t)["items"].([]any); len(items) != 0 {
			t.Errorf("%s as acme = %v, want nothing", path, items)
		}
	}
	// Nothing of globex changed; the platform admin still sees it as it was.
	got := srv.Get(t, "/api/v1/tasks/"+task.ID, admin).WantStatus(t, http.StatusOK).Map(t)
	if got["state"] != "escalated" || got["version"] != 3.0 {
		t.Errorf("globex task = %v, want escalated v3", got)
	}
	if e := srv.Get(t, "/api/v1/escalations/"+esc.ID, admin).WantStatus(t, http.StatusOK).Map(t); e["resolved"] != false {
		t.Errorf("globex escalation = %v, want open", e)
	}
	if a := srv.Get(t, "/api/v1/agents/g-bot?tenant_id=globex", admin).WantStatus(t, http.StatusOK).Map(t); a["status"] != "active" {
		t.Errorf("globex agent = %v, want active", a)
	}
	if r := srv.Get(t, "/api/v1/reviews/"+rev.ID, admin).WantStatus(t, http.StatusOK).Map(t); r["status"] != "open" || len(r["votes"].([]any)) != 0 {
		t.Errorf("globex review = %v, want open without votes", r)
	}
	if n := budgetCountRows(t, srv.App.DB().DB, "reviews", "1 = 1"); n != 1 {
		t.Errorf("%d reviews, want globex's only", n)
	}
}
