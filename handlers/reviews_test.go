package handlers_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// openReview opens a review of a new task of tenant default in state
// review, inviting agents (of tenant default) with weight 1, and returns
// its id and the task's.
func openReview(t *testing.T, srv *testenv.Server, token string, quorum float64, agents ...string) (id, task string) {
	t.Helper()
	var tk, rv struct {
		ID string `json:"id"`
	}
	srv.Post(t, "/api/v1/tasks", token, map[string]any{"tenant_id": "default", "title": "reviewed"}).WantStatus(t, http.StatusCreated).JSON(t, &tk)
	for _, s := range []string{"running", "review"} {
		srv.Send(t, testenv.Request{Method: http.MethodPatch, Path: "/api/v1/tasks/" + tk.ID, Token: token, Body: map[string]any{"state": s}}).
			WantStatus(t, http.StatusOK)
	}
	invited := make([]any, len(agents))
	for i, a := range agents {
		invited[i] = map[string]any{"agent_id": a}
	}
	srv.Post(t, "/api/v1/reviews", token, map[string]any{"task_id": tk.ID, "quorum": quorum, "agents": invited}).
		WantStatus(t, http.StatusCreated).JSON(t, &rv)
	return rv.ID, tk.ID
}

// TestReviewVotesOverHTTP: concurrent votes of one agent answer exactly one
// 201 (the others 409); a raw answer's vote keeps the validator's warnings;
// an uninvited agent is 422; GET /reviews/{id} shows the votes and score;
// GET /reviews filters by task and status.
func TestReviewVotesOverHTTP(t *testing.T) {
	srv := testenv.Quick(t)
	admin := srv.Token(t, "admin")
	for _, id := range []string{"rev-a", "rev-b", "rev-c"} {
		srv.Post(t, "/api/v1/agents", admin, map[string]any{"tenant_id": "default", "id": id, "role": "reviewer"}).WantStatus(t, http.StatusCreated)
	}
	id, task := openReview(t, srv, admin, 0.75, "rev-a", "rev-b", "rev-c")
	path := "/api/v1/reviews/" + id + "/votes"

	const n = 8
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := srv.SendErr(testenv.Request{Method: http.MethodPost, Path: path, Token: admin, Body: map[string]any{"agent_id": "rev-a", "vote": "approve"}})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				statuses[-1]++
				return
			}
			statuses[r.Status]++
		}()
	}
	close(start)
	wg.Wait()
	if statuses[http.StatusCreated] != 1 || statuses[http.StatusConflict] != n-1 {
		t.Errorf("answers of %d concurrent votes of one agent = %v; want one 201 and %d 409", n, statuses, n-1)
	}

	raw := "```json\n" + `{"decision":"approve","confidence":0.8,"reasoning":"fine; DROP TABLE users; --","concerns":[]}` + "\n```"
	got := srv.Post(t, path, admin, map[string]any{"agent_id": "rev-b", "raw": raw}).WantStatus(t, http.StatusCreated).Map(t)
	v := got["vote"].(map[string]any)
	ws, _ := v["warnings"].([]any)
	if v["vote"] != "approve" || v["confidence"] != 0.8 || len(ws) == 0 || ws[0].(map[string]any)["kind"] != "sql_injection" {
		t.Errorf("raw vote = %v; want approve, confidence 0.8 and a sql_injection warning", v)
	}
	rv := got["review"].(map[string]any)
	if rv["status"] != "open" || len(rv["votes"].([]any)) != 2 {
		t.Errorf("review after 2 of 3 approvals at 0.75 = %v; want open with 2 votes", rv)
	}
	srv.Post(t, path, admin, map[string]any{"agent_id": "rev-c", "raw": `{"decision":"yes"}`}).
		WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	srv.Post(t, "/api/v1/agents", admin, map[string]any{"tenant_id": "default", "id": "rev-outsider", "role": "tester"}).WantStatus(t, http.StatusCreated)
	e := srv.Post(t, path, admin, map[string]any{"agent_id": "rev-outsider", "vote": "reject"}).
		WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	if fmt.Sprint(e.Details) == "" {
		t.Errorf("uninvited agent: no details")
	}
	srv.Post(t, path, admin, map[string]any{"agent_id": "rev-nobody", "vote": "reject"}).WantError(t, http.StatusNotFound, "resource.not_found")

	got = srv.Post(t, path, admin, map[string]any{"agent_id": "rev-c", "vote": "reject", "reasoning": "late but counted"}).
		WantStatus(t, http.StatusCreated).Map(t)
	if rv := got["review"].(map[string]any); rv["status"] != "failed" || rv["escalation_id"] == nil {
		// 2 of 3 approvals: 0.667 < 0.75 once every agent has voted.
		t.Errorf("review after every vote = %v; want failed with an escalation", rv)
	}
	shown := srv.Get(t, "/api/v1/reviews/"+id, srv.Token(t, "observer")).WantStatus(t, http.StatusOK).Map(t)
	if shown["status"] != "failed" || len(shown["votes"].([]any)) != 3 || shown["approve_weight"] != 2.0 || shown["task_state"] != nil {
		t.Errorf("GET review = %v", shown)
	}
	for query, want := range map[string]int{"task_id=" + task: 1, "status=failed": 1, "status=open": 0, "task_id=" + noSuchID: 0} {
		items := srv.Get(t, "/api/v1/reviews?"+query, admin).WantStatus(t, http.StatusOK).Map(t)["items"].([]any)
		if len(items) != want {
			t.Errorf("GET /reviews?%s = %d items, want %d", query, len(items), want)
		}
	}
	srv.Get(t, "/api/v1/reviews?status=pending", admin).WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
}

// TestAgentsReportTheirPromptVersion: an agent shows its role's current
// prompt version in its tenant (null until one is approved), in lists,
// reads and changes.
func TestAgentsReportTheirPromptVersion(t *testing.T) {
	srv := testenv.Quick(t)
	admin := srv.Token(t, "admin")
	a := srv.Post(t, "/api/v1/agents", admin, map[string]any{"tenant_id": "default", "id": "dev-1", "role": "developer"}).WantStatus(t, http.StatusCreated).Map(t)
	if v, ok := a["prompt_version"]; !ok || v != nil {
		t.Fatalf("new agent prompt_version = %v (present %v); want null", v, ok)
	}
	srv.Post(t, "/api/v1/agents", admin, map[string]any{"tenant_id": "default", "id": "sec-1", "role": "security"}).WantStatus(t, http.StatusCreated)
	srv.Post(t, "/api/v1/agents", admin, map[string]any{"tenant_id": "other", "id": "dev-1", "role": "developer"}).WantStatus(t, http.StatusCreated)
	srv.Post(t, "/api/v1/learning/proposals", admin, map[string]any{
		"tenant_id": "default", "agent_role": "developer", "prompt_text": "v1", "learned_from_pattern": "p",
	}).WantStatus(t, http.StatusCreated)
	// A pending security version is not current.
	srv.Post(t, "/api/v1/learning/proposals", admin, map[string]any{
		"tenant_id": "default", "agent_role": "security", "prompt_text": "v1", "learned_from_pattern": "p",
	}).WantStatus(t, http.StatusCreated)

	byID := map[string]any{}
	for _, it := range srv.Get(t, "/api/v1/agents", admin).WantStatus(t, http.StatusOK).Map(t)["items"].([]any) {
		m := it.(map[string]any)
		byID[m["tenant_id"].(string)+"/"+m["id"].(string)] = m["prompt_version"]
	}
	want := map[string]any{"default/dev-1": 1.0, "default/sec-1": nil, "other/dev-1": nil}
	for k, w := range want {
		if byID[k] != w {
			t.Errorf("%s prompt_version = %v, want %v", k, byID[k], w)
		}
	}
	if v := srv.Get(t, "/api/v1/agents/dev-1?tenant_id=default", admin).WantStatus(t, http.StatusOK).Map(t)["prompt_version"]; v != 1.0 {
		t.Errorf("GET agent prompt_version = %v, want 1", v)
	}
	changed := srv.Send(t, testenv.Request{Method: http.MethodPatch, Path: "/api/v1/agents/sec-1?tenant_id=default", Token: admin,
		Body: map[string]any{"role": "developer"}}).WantStatus(t, http.StatusOK).Map(t)
	if changed["prompt_version"] != 1.0 {
		t.Errorf("agent moved to developer: prompt_version = %v, want 1", changed["prompt_version"])
	}
}
