package handlers_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// proposalTally counts the answers of concurrent proposals.
type proposalTally struct {
	mu                sync.Mutex
	accepted, refused int
	unexpected        []string
}

func (p *proposalTally) add(r *testenv.Response, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case err != nil:
		p.unexpected = append(p.unexpected, err.Error())
	case r.Status == http.StatusCreated:
		p.accepted++
	case r.Status == http.StatusTooManyRequests:
		if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
			p.unexpected = append(p.unexpected, fmt.Sprintf("429 with Retry-After %q", r.Header.Get("Retry-After")))
		}
		p.refused++
	default:
		p.unexpected = append(p.unexpected, fmt.Sprintf("%d %s", r.Status, r.Body))
	}
}

func propose(clients []*testenv.Client, n int, token, role string) *proposalTally {
	tally := &proposalTally{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tally.add(clients[i%len(clients)].SendErr(testenv.Request{Method: http.MethodPost, Path: "/api/v1/learning/proposals", Token: token,
				Body: map[string]any{"tenant_id": "acme", "agent_role": role, "prompt_text": fmt.Sprint("prompt ", i), "learned_from_pattern": "race"}}))
		}()
	}
	close(start)
	wg.Wait()
	return tally
}

// TestLearningOverHTTP walks the learning routes: the seeded governance, a
// proposal auto-approved and current, the next refused with 429 and
// Retry-After, a proposal with a raw LLM answer keeping the validator's
// warnings, a pending one approved once, and the stats.
func TestLearningOverHTTP(t *testing.T) {
	srv := testenv.Quick(t)
	admin := srv.Token(t, "admin")
	var gov struct {
		Items []map[string]any `json:"items"`
	}
	srv.Get(t, "/api/v1/learning/governance?tenant_id=acme", admin).WantStatus(t, http.StatusOK).JSON(t, &gov)
	if len(gov.Items) != 5 || gov.Items[0]["agent_role"] != "security" || gov.Items[0]["max_updates_per_day"] != float64(1) ||
		gov.Items[0]["cooldown_hours"] != float64(24) || gov.Items[0]["require_human_approval"] != true || gov.Items[0]["default"] != true {
		t.Fatalf("governance = %v; want the seeded defaults, security first", gov.Items)
	}
	body := map[string]any{"tenant_id": "acme", "agent_role": "developer", "prompt_text": "v1", "learned_from_pattern": "skill_gap"}
	p := srv.Post(t, "/api/v1/learning/proposals", admin, body).WantStatus(t, http.StatusCreated).Map(t)
	if p["approval_status"] != "auto_approved" || p["current"] != true || p["version"] != float64(1) {
		t.Errorf("first proposal = %v; want auto_approved, current, version 1", p)
	}
	r := srv.Post(t, "/api/v1/learning/proposals", admin, body)
	e := r.WantError(t, http.StatusTooManyRequests, "rate_limit.exceeded")
	if r.Header.Get("Retry-After") != "7200" || e.Details["reason"] != "cooldown" || e.Details["retry_after_seconds"] != float64(7200) {
		t.Errorf("second proposal: Retry-After %q, details %v; want 7200 s of cooldown", r.Header.Get("Retry-After"), e.Details)
	}

	raw := "```json\n" + `[{"pattern_type":"skill_gap","root_cause":"<script>alert(1)</script>","suggested_fix":"test","confidence":0.7}]` + "\n```"
	w := srv.Post(t, "/api/v1/learning/proposals", admin, map[string]any{
		"tenant_id": "acme", "agent_role": "tester", "prompt_text": "test", "learned_from_pattern": "skill_gap", "llm_response": raw,
	}).WantStatus(t, http.StatusCreated).Map(t)
	ws, _ := w["warnings"].([]any)
	data, _ := w["llm_data"].([]any)
	if len(ws) != 1 || ws[0].(map[string]any)["kind"] != "script_tag" || len(data) != 1 {
		t.Errorf("proposal with an answer = %v; want its data and a script_tag warning", w)
	}
	srv.Post(t, "/api/v1/learning/proposals", admin, map[string]any{
		"tenant_id": "acme", "agent_role": "reviewer", "prompt_text": "x", "learned_from_pattern": "y", "llm_response": "no json here",
	}).WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")

	pending := srv.Post(t, "/api/v1/learning/proposals", admin, map[string]any{
		"tenant_id": "acme", "agent_role": "security", "prompt_text": "careful", "learned_from_pattern": "process_issue",
	}).WantStatus(t, http.StatusCreated).Map(t)
	if pending["approval_status"] != "pending_review" || pending["current"] != false {
		t.Fatalf("security proposal = %v; want pending_review, not current", pending)
	}
	path := "/api/v1/learning/proposals/" + pending["id"].(string)
	ok := srv.Post(t, path+"/approve", admin, nil).WantStatus(t, http.StatusOK).Map(t)
	if ok["approval_status"] != "human_approved" || ok["current"] != true || ok["approved_by"] == nil {
		t.Errorf("approved = %v", ok)
	}
	srv.Post(t, path+"/approve", admin, nil).WantError(t, http.StatusConflict, "state.conflict")
	srv.Post(t, path+"/reject", admin, map[string]any{"reason": "late"}).WantError(t, http.StatusConflict, "state.conflict")

	var prompts struct {
		Items []map[string]any `json:"items"`
	}
	srv.Get(t, "/api/v1/prompts?tenant_id=acme&agent_role=security", admin).WantStatus(t, http.StatusOK).JSON(t, &prompts)
	if len(prompts.Items) != 1 || prompts.Items[0]["current"] != true || prompts.Items[0]["approval_status"] != "human_approved" {
		t.Errorf("security prompts = %v", prompts.Items)
	}
	var stats struct {
		Roles []map[string]any `json:"roles"`
	}
	srv.Get(t, "/api/v1/learning/stats?tenant_id=acme", admin).WantStatus(t, http.StatusOK).JSON(t, &stats)
	byRole := map[string]map[string]any{}
	for _, r := range stats.Roles {
		byRole[r["agent_role"].(string)] = r
	}
	if d := byRole["developer"]; d["updates_today"] != float64(1) || d["current_version"] != float64(1) || d["can_update_now"] != false {
		t.Errorf("developer stats = %v; want 1 today, version 1, in cooldown", d)
	}
	if a := byRole["architect"]; a["updates_today"] != float64(0) || a["can_update_now"] != true || a["default"] != true {
		t.Errorf("architect stats = %v; want untouched", a)
	}
	audited := srv.Get(t, "/api/v1/audit?action=learning.proposal.refuse", admin).WantStatus(t, http.StatusOK).Map(t)
	if items, _ := audited["items"].([]any); len(items) != 1 {
		t.Errorf("refusals audited: %v; want 1", audited["items"])
	}
}

// TestLearningTwoProcesses: concurrent proposals of one role through two
// server processes sharing one database (PostgreSQL with
// TEST_DATABASE_URL, else one SQLite file) never exceed the daily cap, and
// never two within a cooldown.
func TestLearningTwoProcesses(t *testing.T) {
	env := testenv.New(t)
	vars := map[string]string{
		"JWT_SECRET": "learning-two-processes-secret-0123456789abcdef", "RATE_LIMITS_ENABLED": "false",
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
	admin := a.Token(t, "admin")

	// A cap of 3 and no cooldown: exactly 3 of 20 pass.
	a.Send(t, testenv.Request{Method: http.MethodPut, Path: "/api/v1/learning/governance/developer", Token: admin,
		Body: map[string]any{"tenant_id": "acme", "max_updates_per_day": 3, "cooldown_hours": 0, "require_human_approval": false}}).
		WantStatus(t, http.StatusOK)
	tally := propose(clients, 20, admin, "developer")
	if len(tally.unexpected) > 0 || tally.accepted != 3 || tally.refused != 17 {
		t.Fatalf("capped role: accepted %d, refused %d, unexpected %v; want 3 and 17", tally.accepted, tally.refused, tally.unexpected)
	}
	// The default reviewer rule (3 a day, 4 h cooldown): exactly 1 of 20.
	tally = propose(clients, 20, admin, "reviewer")
	if len(tally.unexpected) > 0 || tally.accepted != 1 || tally.refused != 19 {
		t.Fatalf("cooldown: accepted %d, refused %d, unexpected %v; want 1 and 19", tally.accepted, tally.refused, tally.unexpected)
	}
	for role, want := range map[string][]float64{"developer": {3, 2, 1}, "reviewer": {1}} {
		var page struct {
			Items []map[string]any `json:"items"`
		}
		b.Get(t, "/api/v1/prompts?tenant_id=acme&agent_role="+role, admin).WantStatus(t, http.StatusOK).JSON(t, &page)
		var got []float64
		for _, p := range page.Items {
			got = append(got, p["version"].(float64))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s versions = %v; want %v (one per accepted proposal, none shared)", role, got, want)
		}
	}
	var stats struct {
		Roles []map[string]any `json:"roles"`
	}
	b.Get(t, "/api/v1/learning/stats?tenant_id=acme", admin).WantStatus(t, http.StatusOK).JSON(t, &stats)
	for _, r := range stats.Roles {
		want := map[string]float64{"developer": 3, "reviewer": 1}[r["agent_role"].(string)]
		if r["updates_today"] != want {
			t.Errorf("%s updates_today = %v; want %v", r["agent_role"], r["updates_today"], want)
		}
	}
}
