package review_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/internal/dbtest"
	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/llmcheck"
	"github.com/golden-architecture/control-plane/services/review"
	"github.com/golden-architecture/control-plane/services/tenants"
	"github.com/golden-architecture/control-plane/services/work"
)

var (
	ctx = context.Background()
	dev = audit.Actor{PrincipalID: "user:u-dev", UserID: "u-dev", Username: "developer", Role: "developer", TenantID: "acme", RequestID: "req-1"}
)

type fixture struct {
	svc  *review.Service
	work *work.Service
	db   *gorm.DB
	reg  *prometheus.Registry
}

// newFixture is a database with agents a, b, c (active) and p (paused) in
// acme and g in globex.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := dbtest.New(t).DB
	reg := prometheus.NewRegistry()
	w, err := work.New(db, audit.New(db), work.Options{Tenants: tenants.New(db, audit.New(db)), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	checker, err := llmcheck.New()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := review.New(db, audit.New(db), review.Options{Checker: checker, Escalations: w, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{svc: svc, work: w, db: db, reg: reg}
	for _, a := range []struct{ tenant, id string }{{"acme", "a"}, {"acme", "b"}, {"acme", "c"}, {"acme", "p"}, {"globex", "g"}} {
		in := work.CreateAgentInput{TenantID: a.tenant, ID: a.id, Role: work.RoleReviewer}
		if a.id == "p" {
			in.Status = work.AgentPaused
		}
		if _, err := w.CreateAgent(ctx, dev, in); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// task creates a task of tenant in state (pending, running or review).
func (f *fixture) task(t *testing.T, tenant string, state work.State) work.Task {
	t.Helper()
	task, err := f.work.CreateTask(ctx, dev, work.CreateTaskInput{TenantID: tenant, Title: "fix the build"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []work.State{work.StateRunning, work.StateReview} {
		if task.State == state {
			break
		}
		if task, err = f.work.UpdateTask(ctx, dev, "", task.ID, work.UpdateTaskInput{State: &s}); err != nil {
			t.Fatal(err)
		}
	}
	return task
}

func (f *fixture) open(t *testing.T, task string, quorum float64, agents ...review.Invite) review.Review {
	t.Helper()
	r, err := f.svc.Create(ctx, dev, review.CreateInput{TenantID: "acme", TaskID: task, Quorum: &quorum, Agents: agents})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) vote(id, agent string, d review.Decision) (review.Review, error) {
	r, _, err := f.svc.CastVote(ctx, dev, review.VoteInput{TenantID: "acme", ReviewID: id, AgentID: agent, Decision: d, Reasoning: "because"})
	return r, err
}

func (f *fixture) count(t *testing.T, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := f.db.Table(table).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func wantCode(t *testing.T, err error, code errs.Code) *errs.Error {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("err = %v; want %s", err, code)
	}
	return e
}

// TestReviewCompletes: approvals reaching the quorum complete the review;
// the task is not moved and nothing is escalated; a later vote is 409.
func TestReviewCompletes(t *testing.T) {
	f := newFixture(t)
	task := f.task(t, "acme", work.StateReview)
	r := f.open(t, task.ID, 0.75, review.Invite{AgentID: "a", Weight: 2}, review.Invite{AgentID: "b", Weight: 1}, review.Invite{AgentID: "c", Weight: 1})
	got, err := f.vote(r.ID, "a", review.Approve)
	if err != nil || got.Status != review.StatusOpen || got.Score != 0.5 {
		t.Fatalf("after a (2 of 4) approves: %+v, %v; want open, score 0.5", got, err)
	}
	got, err = f.vote(r.ID, "b", review.Approve)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != review.StatusCompleted || got.Score != 0.75 || got.DecidedAt == nil || got.EscalationID != "" || got.TaskState != work.StateReview {
		t.Errorf("after b approves: %+v; want completed at 0.75 with no escalation, task still in review", got)
	}
	_, err = f.vote(r.ID, "c", review.Reject)
	if e := wantCode(t, err, errs.CodeConflict); e.Details["status"] != "completed" {
		t.Errorf("late vote details = %v", e.Details)
	}
	stored, err := f.svc.Get(ctx, "acme", r.ID)
	if err != nil || stored.Status != review.StatusCompleted || len(stored.Votes) != 2 || stored.ApproveWeight != 3 {
		t.Errorf("stored = %+v, %v; want completed with 2 votes", stored, err)
	}
	if n := f.count(t, "escalations", "task_id = ?", task.ID); n != 0 {
		t.Errorf("%d escalations, want none", n)
	}
	if n := f.count(t, "audit_log", "resource_id = ? AND action IN ?", r.ID, []string{review.ActionCreate, review.ActionVote, review.ActionComplete}); n != 4 {
		t.Errorf("audit entries = %d, want create, 2 votes, complete", n)
	}
	if got := testenv.MetricSum(t, f.reg, "reviews_total", map[string]string{"outcome": "completed"}); got != 1 {
		t.Errorf("reviews_total{completed} = %v, want 1", got)
	}
}

// TestReviewFailsAndEscalates: when every invited agent has voted short of
// the quorum, the review fails and, in the same transaction, an
// agent_conflict escalation moves the task to escalated.
func TestReviewFailsAndEscalates(t *testing.T) {
	f := newFixture(t)
	task := f.task(t, "acme", work.StateReview)
	r := f.open(t, task.ID, 0.5, review.Invite{AgentID: "a", Weight: 1}, review.Invite{AgentID: "b", Weight: 1}, review.Invite{AgentID: "c", Weight: 1})
	for _, v := range []struct {
		agent string
		d     review.Decision
	}{{"a", review.Approve}, {"b", review.Conditional}} {
		if got, err := f.vote(r.ID, v.agent, v.d); err != nil || got.Status != review.StatusOpen {
			t.Fatalf("vote of %s: %+v, %v; want open", v.agent, got, err)
		}
	}
	got, err := f.vote(r.ID, "c", review.Reject)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != review.StatusFailed || got.EscalationID == "" || got.TaskState != work.StateEscalated || got.VotedWeight != 3 {
		t.Fatalf("after every vote: %+v; want failed, escalated", got)
	}
	e, err := f.work.GetEscalation(ctx, "acme", got.EscalationID)
	if err != nil || e.PatternType != work.PatternAgentConflict || e.TaskID != task.ID || e.ResolvedAt != nil {
		t.Errorf("escalation = %+v, %v; want an open agent_conflict of the task", e, err)
	}
	stored, err := f.work.GetTask(ctx, "acme", task.ID)
	if err != nil || stored.State != work.StateEscalated || stored.Version != task.Version+1 {
		t.Errorf("task = %s v%d, %v; want escalated v%d", stored.State, stored.Version, err, task.Version+1)
	}
	var row models.Review
	if err := f.db.Where("id = ?", r.ID).Take(&row).Error; err != nil {
		t.Fatal(err)
	}
	if row.Status != "failed" || row.EscalationID == nil || *row.EscalationID != e.ID || row.ConsensusScore == nil || *row.ConsensusScore*3 != 1 {
		t.Errorf("stored review = %+v; want failed with the escalation and score 1/3", row)
	}
	if n := f.count(t, "audit_log", "action = ? AND resource_id = ?", review.ActionFail, r.ID) +
		f.count(t, "audit_log", "action = ? AND resource_id = ?", work.ActionEscalationCreate, e.ID); n != 2 {
		t.Errorf("audit entries of the failure and the escalation = %d, want 2", n)
	}
	if got := testenv.MetricSum(t, f.reg, "reviews_total", map[string]string{"outcome": "failed"}); got != 1 {
		t.Errorf("reviews_total{failed} = %v, want 1", got)
	}
	if got := testenv.MetricSum(t, f.reg, "escalations_open", nil); got != 1 {
		t.Errorf("escalations_open = %v, want 1", got)
	}
}

// TestReviewDecidedEarly: the quorum is decided by arithmetic before every
// agent votes — approvals alone reaching it, or too little weight left to
// reach it.
func TestReviewDecidedEarly(t *testing.T) {
	cases := []struct {
		name   string
		quorum float64
		votes  []review.Decision // of a (weight 3), then b and c (weight 1 each)
		want   review.Status
	}{
		{"a's approval alone reaches 0.6", 0.6, []review.Decision{review.Approve}, review.StatusCompleted},
		{"a's rejection leaves 2 of 5, below 0.5", 0.5, []review.Decision{review.Reject}, review.StatusFailed},
		{"a's conditional leaves 2 of 5, below 0.75", 0.75, []review.Decision{review.Conditional}, review.StatusFailed},
		{"b's rejection after a's approval leaves at most 4 of 5, below 0.9", 0.9, []review.Decision{review.Approve, review.Reject}, review.StatusFailed},
		{"a quorum of 1 fails with the first rejection", 1, []review.Decision{review.Approve, review.Approve, review.Reject}, review.StatusFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			task := f.task(t, "acme", work.StateRunning)
			r := f.open(t, task.ID, tc.quorum, review.Invite{AgentID: "a", Weight: 3}, review.Invite{AgentID: "b", Weight: 1}, review.Invite{AgentID: "c", Weight: 1})
			var got review.Review
			var err error
			for i, d := range tc.votes {
				if got, err = f.vote(r.ID, []string{"a", "b", "c"}[i], d); err != nil {
					t.Fatal(err)
				}
				if i < len(tc.votes)-1 && got.Status != review.StatusOpen {
					t.Fatalf("vote %d decided %s early", i+1, got.Status)
				}
			}
			if got.Status != tc.want {
				t.Errorf("status = %s, want %s (score %v)", got.Status, tc.want, got.Score)
			}
			if len(tc.votes) < 3 {
				_, err := f.vote(r.ID, "c", review.Approve)
				wantCode(t, err, errs.CodeConflict)
			}
			wantTask := work.StateRunning
			if tc.want == review.StatusFailed {
				wantTask = work.StateEscalated
			}
			if task, err := f.work.GetTask(ctx, "acme", task.ID); err != nil || task.State != wantTask {
				t.Errorf("task = %s, %v; want %s", task.State, err, wantTask)
			}
		})
	}
}

// TestVoteOncePerAgentConcurrently: N concurrent votes of one agent store
// exactly one; the others are 409.
func TestVoteOncePerAgentConcurrently(t *testing.T) {
	f := newFixture(t)
	task := f.task(t, "acme", work.StateRunning)
	r := f.open(t, task.ID, 0.75, review.Invite{AgentID: "a", Weight: 1}, review.Invite{AgentID: "b", Weight: 1})
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, conflicts := 0, 0
	var other []error
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := f.vote(r.ID, "a", review.Reject)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errs.Is(err, errs.CodeConflict):
				conflicts++
			default:
				other = append(other, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok != 1 || conflicts != n-1 || len(other) > 0 {
		t.Errorf("%d stored, %d conflicts, other errors %v; want 1 and %d", ok, conflicts, other, n-1)
	}
	if got := f.count(t, "review_votes", "review_id = ? AND agent_id = 'a'", r.ID); got != 1 {
		t.Errorf("%d votes of a stored, want 1", got)
	}
}

// TestRawVote: a vote sent as the agent's raw LLM answer takes its decision,
// reasoning and confidence from the answer and keeps the validator's
// warnings; an answer that breaks the consensus schema is 422 and stores
// nothing.
func TestRawVote(t *testing.T) {
	f := newFixture(t)
	task := f.task(t, "acme", work.StateRunning)
	r := f.open(t, task.ID, 0.75, review.Invite{AgentID: "a", Weight: 1}, review.Invite{AgentID: "b", Weight: 1})
	raw := "I looked at it.\n```json\n" + `{"decision":"Conditional","confidence":0.6,"reasoning":"run ../../etc/passwd checks","concerns":["<script>x</script>"]}` + "\n```"
	got, v, err := f.svc.CastVote(ctx, dev, review.VoteInput{TenantID: "acme", ReviewID: r.ID, AgentID: "a", Raw: raw})
	if err != nil {
		t.Fatal(err)
	}
	if v.Decision != review.Conditional || v.Reasoning != "run ../../etc/passwd checks" || v.Confidence == nil || *v.Confidence != 0.6 {
		t.Errorf("vote = %+v; want conditional with the answer's reasoning and confidence", v)
	}
	kinds := map[llmcheck.WarningKind]bool{}
	for _, w := range v.Warnings {
		kinds[w.Kind] = true
	}
	if !kinds[llmcheck.WarnPathTraversal] || !kinds[llmcheck.WarnScriptTag] {
		t.Errorf("warnings = %+v; want path_traversal and script_tag", v.Warnings)
	}
	// conditional is not an approval: 1 of 2 left, below 0.75.
	if got.Status != review.StatusFailed {
		t.Errorf("review = %s, want failed", got.Status)
	}
	stored, err := f.svc.Get(ctx, "acme", r.ID)
	if err != nil || len(stored.Votes) != 1 || len(stored.Votes[0].Warnings) != len(v.Warnings) || stored.Votes[0].LLMData["decision"] != "conditional" {
		t.Errorf("stored votes = %+v, %v; want the vote with its data and warnings", stored.Votes, err)
	}

	other := f.open(t, f.task(t, "acme", work.StateRunning).ID, 0.5, review.Invite{AgentID: "a", Weight: 1})
	for name, in := range map[string]review.VoteInput{
		"not the schema":  {Raw: `{"decision":"maybe","confidence":2,"reasoning":"x"}`},
		"no JSON":         {Raw: "I approve."},
		"raw and a vote":  {Raw: `{"decision":"approve","confidence":1,"reasoning":"ok"}`, Decision: review.Approve},
		"neither":         {},
		"an unknown vote": {Decision: "abstain"},
		"a bad agent id":  {Decision: review.Approve, AgentID: "Not An Id"},
	} {
		t.Run(name, func(t *testing.T) {
			in.TenantID, in.ReviewID = "acme", other.ID
			if in.AgentID == "" {
				in.AgentID = "a"
			}
			_, _, err := f.svc.CastVote(ctx, dev, in)
			wantCode(t, err, errs.CodeUnprocessable)
		})
	}
	if n := f.count(t, "review_votes", "review_id = ?", other.ID); n != 0 {
		t.Errorf("refused votes stored %d rows", n)
	}
}

// TestVoteRefusals: an agent that is not invited (422; 404 when the
// review's tenant has no such agent), another tenant's review (404).
func TestVoteRefusals(t *testing.T) {
	f := newFixture(t)
	task := f.task(t, "acme", work.StateRunning)
	r := f.open(t, task.ID, 0.75, review.Invite{AgentID: "a", Weight: 1})
	_, err := f.vote(r.ID, "b", review.Approve)
	wantCode(t, err, errs.CodeUnprocessable)
	for _, agent := range []string{"g", "nobody"} {
		_, err := f.vote(r.ID, agent, review.Approve)
		if e := wantCode(t, err, errs.CodeNotFound); e.Message != fmt.Sprintf("agent %q not found", agent) {
			t.Errorf("vote of %s: %q", agent, e.Message)
		}
	}
	_, _, err = f.svc.CastVote(ctx, dev, review.VoteInput{TenantID: "globex", ReviewID: r.ID, AgentID: "a", Decision: review.Approve})
	wantCode(t, err, errs.CodeNotFound)
	if _, err := f.svc.Get(ctx, "globex", r.ID); !errs.Is(err, errs.CodeNotFound) {
		t.Errorf("Get as globex: %v; want not found", err)
	}
	if n := f.count(t, "review_votes", "review_id = ?", r.ID); n != 0 {
		t.Errorf("refused votes stored %d rows", n)
	}
}

// TestCreateRefusals: the rules of a new review.
func TestCreateRefusals(t *testing.T) {
	f := newFixture(t)
	running := f.task(t, "acme", work.StateRunning).ID
	pending := f.task(t, "acme", work.StatePending).ID
	globex := f.task(t, "globex", work.StateRunning).ID
	one := []review.Invite{{AgentID: "a", Weight: 1}}
	q := func(v float64) *float64 { return &v }
	cases := []struct {
		name string
		in   review.CreateInput
		code errs.Code
	}{
		{"quorum 0", review.CreateInput{TaskID: running, Quorum: q(0), Agents: one}, errs.CodeUnprocessable},
		{"quorum above 1", review.CreateInput{TaskID: running, Quorum: q(1.01), Agents: one}, errs.CodeUnprocessable},
		{"no agents", review.CreateInput{TaskID: running}, errs.CodeUnprocessable},
		{"a weight of 0", review.CreateInput{TaskID: running, Agents: []review.Invite{{AgentID: "a"}}}, errs.CodeUnprocessable},
		{"an agent twice", review.CreateInput{TaskID: running, Agents: []review.Invite{{AgentID: "a", Weight: 1}, {AgentID: "a", Weight: 2}}}, errs.CodeUnprocessable},
		{"a pending task", review.CreateInput{TaskID: pending, Agents: one}, errs.CodeConflict},
		{"a paused agent", review.CreateInput{TaskID: running, Agents: []review.Invite{{AgentID: "p", Weight: 1}}}, errs.CodeConflict},
		{"another tenant's agent", review.CreateInput{TaskID: running, Agents: []review.Invite{{AgentID: "g", Weight: 1}}}, errs.CodeNotFound},
		{"another tenant's task", review.CreateInput{TaskID: globex, Agents: []review.Invite{{AgentID: "g", Weight: 1}}}, errs.CodeNotFound},
		{"an unknown task", review.CreateInput{TaskID: "00000000-0000-0000-0000-000000000000", Agents: one}, errs.CodeNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.TenantID = "acme"
			_, err := f.svc.Create(ctx, dev, tc.in)
			wantCode(t, err, tc.code)
		})
	}
	if n := f.count(t, "reviews", "1 = 1"); n != 0 {
		t.Fatalf("refused creations stored %d reviews", n)
	}
	r := f.open(t, running, 0.75, one...)
	if r.Quorum != 0.75 || r.TenantID != "acme" || r.Status != review.StatusOpen {
		t.Errorf("review = %+v", r)
	}
	_, err := f.svc.Create(ctx, dev, review.CreateInput{TenantID: "acme", TaskID: running, Agents: one})
	wantCode(t, err, errs.CodeConflict)
	// A platform caller ("" tenant) opens one on globex's task with globex's agent.
	g, err := f.svc.Create(ctx, dev, review.CreateInput{TaskID: globex, Agents: []review.Invite{{AgentID: "g", Weight: 1}}})
	if err != nil || g.TenantID != "globex" || g.Quorum != review.DefaultQuorum {
		t.Errorf("platform review = %+v, %v; want globex's with the default quorum", g, err)
	}
	page, err := f.svc.List(ctx, review.Filter{TenantID: "acme", Status: review.StatusOpen})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != r.ID {
		t.Errorf("acme's open reviews = %+v, %v; want the one", page.Items, err)
	}
}
