package learning_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/internal/dbtest"
	"github.com/golden-architecture/control-plane/internal/metrictest"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/learning"
	"github.com/golden-architecture/control-plane/services/llmcheck"
	"github.com/golden-architecture/control-plane/services/tenants"
	"github.com/golden-architecture/control-plane/services/work"
)

var (
	ctx   = context.Background()
	agent = audit.Actor{PrincipalID: "user:u-ops", UserID: "u-ops", Username: "admin", Role: "admin", TenantID: "acme", RequestID: "req-1"}
	human = audit.Actor{PrincipalID: "user:u-human", UserID: "u-human", Username: "lead", Role: "admin", TenantID: "acme", RequestID: "req-2"}
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	svc   *learning.Service
	db    *gorm.DB
	reg   *prometheus.Registry
	clock *clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := dbtest.New(t).DB
	checker, err := llmcheck.New()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	// 10:00 UTC: a day with room for cooldowns before midnight.
	c := &clock{t: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)}
	svc, err := learning.New(db, audit.New(db), learning.Options{
		Tenants: tenants.New(db, audit.New(db)), Checker: checker, Registerer: reg, Now: c.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, db: db, reg: reg, clock: c}
}

func (f *fixture) propose(role work.AgentRole, n int) (learning.Prompt, error) {
	return f.svc.Propose(ctx, agent, learning.ProposalInput{
		TenantID: "acme", Role: role, Text: fmt.Sprintf("prompt %d of %s", n, role), LearnedFromPattern: "skill_gap: failing tests",
	})
}

func (f *fixture) count(t *testing.T, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := f.db.Table(table).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func wantRefusal(t *testing.T, err error, reason string, retry time.Duration) {
	t.Helper()
	r, ok := learning.RefusalOf(err)
	var e *errs.Error
	if !ok || !errors.As(err, &e) || e.Code != errs.CodeRateLimited {
		t.Fatalf("err = %v; want a %s refusal", err, reason)
	}
	if r.Reason != reason || r.RetryAfter != retry || e.Details["reason"] != reason {
		t.Errorf("refusal = %+v (details %v); want %s, retry after %s", r, e.Details, reason, retry)
	}
}

// TestGovernanceDefaults: every role starts with the original platform's
// rule, per tenant, before any row is written.
func TestGovernanceDefaults(t *testing.T) {
	f := newFixture(t)
	gs, err := f.svc.ListGovernance(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	want := map[work.AgentRole]learning.Rule{
		work.RoleSecurity:  {MaxUpdatesPerDay: 1, CooldownHours: 24, RequireHumanApproval: true},
		work.RoleArchitect: {MaxUpdatesPerDay: 2, CooldownHours: 12, RequireHumanApproval: true},
		work.RoleDeveloper: {MaxUpdatesPerDay: 5, CooldownHours: 2},
		work.RoleReviewer:  {MaxUpdatesPerDay: 3, CooldownHours: 4},
		work.RoleTester:    {MaxUpdatesPerDay: 5, CooldownHours: 2},
	}
	if len(gs) != 5 {
		t.Fatalf("%d roles; want 5", len(gs))
	}
	for _, g := range gs {
		if g.Rule != want[g.Role] || !g.Default || g.TenantID != "acme" || g.LastUpdateAt != nil {
			t.Errorf("%s = %+v; want the default %+v", g.Role, g, want[g.Role])
		}
	}
}

// TestGovernanceDecides drives each role's rule through a day: proposals
// every step apart, each accepted (auto-approved or pending review) or
// refused for the cap or the cooldown with the time to wait.
func TestGovernanceDecides(t *testing.T) {
	type step struct {
		after  time.Duration // advance the clock first
		want   learning.Status
		reason string        // refused for this reason
		retry  time.Duration // ... retry after this
	}
	for _, tc := range []struct {
		role  work.AgentRole
		rule  *learning.Rule // nil: the default
		steps []step
	}{
		{role: work.RoleSecurity, steps: []step{
			{want: learning.StatusPendingReview},
			{after: time.Hour, reason: learning.RefusedDailyCap, retry: 23 * time.Hour},
			// The next day the cap is free, but the cooldown (24 h) runs
			// until 10:00.
			{after: 14 * time.Hour, reason: learning.RefusedCooldown, retry: 9 * time.Hour},
			{after: 9 * time.Hour, want: learning.StatusPendingReview},
		}},
		{role: work.RoleArchitect, steps: []step{
			{want: learning.StatusPendingReview},
			{after: 11 * time.Hour, reason: learning.RefusedCooldown, retry: time.Hour},
			{after: time.Hour, want: learning.StatusPendingReview},
			// 23:00: cap of 2 reached; the cooldown (until 10:00 next day) is longer.
			{after: time.Hour, reason: learning.RefusedDailyCap, retry: 11 * time.Hour},
		}},
		{role: work.RoleDeveloper, steps: []step{
			{want: learning.StatusAutoApproved},
			{after: time.Hour, reason: learning.RefusedCooldown, retry: time.Hour},
			{after: time.Hour, want: learning.StatusAutoApproved},
			{after: 2 * time.Hour, want: learning.StatusAutoApproved},
			{after: 2 * time.Hour, want: learning.StatusAutoApproved},
			{after: 2 * time.Hour, want: learning.StatusAutoApproved},
			// 20:00: 5 today; midnight is 4 h away.
			{after: 2 * time.Hour, reason: learning.RefusedDailyCap, retry: 4 * time.Hour},
			{after: 6 * time.Hour, want: learning.StatusAutoApproved},
		}},
		{role: work.RoleReviewer, steps: []step{
			{want: learning.StatusAutoApproved},
			{after: 3*time.Hour + 30*time.Minute, reason: learning.RefusedCooldown, retry: 30 * time.Minute},
			{after: 30 * time.Minute, want: learning.StatusAutoApproved},
		}},
		{role: work.RoleTester, rule: &learning.Rule{MaxUpdatesPerDay: 2, CooldownHours: 0, RequireHumanApproval: true}, steps: []step{
			{want: learning.StatusPendingReview},
			{want: learning.StatusPendingReview},
			{reason: learning.RefusedDailyCap, retry: 14 * time.Hour},
		}},
		{role: work.RoleTester, rule: &learning.Rule{MaxUpdatesPerDay: 0}, steps: []step{
			{reason: learning.RefusedDailyCap, retry: 14 * time.Hour},
		}},
	} {
		t.Run(string(tc.role), func(t *testing.T) {
			f := newFixture(t)
			if tc.rule != nil {
				if _, err := f.svc.SetGovernance(ctx, human, "acme", tc.role, *tc.rule); err != nil {
					t.Fatal(err)
				}
			}
			accepted := 0
			for i, s := range tc.steps {
				f.clock.advance(s.after)
				p, err := f.propose(tc.role, i)
				if s.reason != "" {
					wantRefusal(t, err, s.reason, s.retry)
					continue
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				accepted++
				if p.Status != s.want || p.Version != accepted || p.Current != (s.want == learning.StatusAutoApproved) || !p.AutoLearned {
					t.Errorf("step %d: %+v; want %s, version %d", i, p, s.want, accepted)
				}
			}
			if n := f.count(t, "agent_prompts", "tenant_id = 'acme' AND agent_role = ?", string(tc.role)); n != int64(accepted) {
				t.Errorf("%d versions stored; want %d", n, accepted)
			}
			refused := int64(len(tc.steps) - accepted)
			if n := f.count(t, "audit_log", "action = ?", learning.ActionProposalRefuse); n != refused {
				t.Errorf("%d refusals audited; want %d", n, refused)
			}
			if n := f.count(t, "audit_log", "action = ?", learning.ActionProposalCreate); n != int64(accepted) {
				t.Errorf("%d proposals audited; want %d", n, accepted)
			}
			if got := metrictest.Value(t, f.reg, "learning_proposals_total", map[string]string{"role": string(tc.role), "decision": learning.DecisionRefused}); got != float64(refused) {
				t.Errorf("learning_proposals_total refused = %v; want %d", got, refused)
			}
		})
	}
}

// TestGovernanceIsPerTenant: one tenant's proposals use up none of
// another's cap, and each tenant's rule is its own.
func TestGovernanceIsPerTenant(t *testing.T) {
	f := newFixture(t)
	if _, err := f.propose(work.RoleSecurity, 1); err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.Propose(ctx, agent, learning.ProposalInput{TenantID: "globex", Role: work.RoleSecurity, Text: "x", LearnedFromPattern: "y"})
	if err != nil || p.Version != 1 || p.TenantID != "globex" {
		t.Fatalf("globex's first proposal = %+v, %v; want version 1", p, err)
	}
	if _, err := f.svc.SetGovernance(ctx, human, "globex", work.RoleDeveloper, learning.Rule{MaxUpdatesPerDay: 9}); err != nil {
		t.Fatal(err)
	}
	gs, _ := f.svc.ListGovernance(ctx, "acme")
	if gs[1].Role != work.RoleDeveloper || gs[1].MaxUpdatesPerDay != 5 || !gs[1].Default {
		t.Errorf("acme's developer rule = %+v; want the default", gs[1])
	}
}

// TestApproveRejectOnce: a pending proposal is decided exactly once, also
// under concurrency; the current version follows the approvals.
func TestApproveRejectOnce(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.SetGovernance(ctx, human, "acme", work.RoleArchitect, learning.Rule{MaxUpdatesPerDay: 10, RequireHumanApproval: true}); err != nil {
		t.Fatal(err)
	}
	p1, _ := f.propose(work.RoleArchitect, 1)
	p2, _ := f.propose(work.RoleArchitect, 2)
	if p1.Status != learning.StatusPendingReview || p1.Current {
		t.Fatalf("p1 = %+v; want pending, not current", p1)
	}
	const n = 10
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				_, results[i] = f.svc.Approve(ctx, human, "acme", p1.ID)
			} else {
				_, results[i] = f.svc.Reject(ctx, human, "acme", p1.ID, "no")
			}
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range results {
		var e *errs.Error
		switch {
		case err == nil:
			won++
		case errors.As(err, &e) && e.Code == errs.CodeConflict:
		default:
			t.Errorf("unexpected %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d decisions won; want 1", won)
	}
	decided := f.count(t, "audit_log", "action IN ?", []string{learning.ActionProposalApprove, learning.ActionProposalReject})
	if decided != 1 {
		t.Errorf("%d decisions audited; want 1", decided)
	}
	// Approve p2 (the newer): it is current; a later approval cannot be made again.
	got, err := f.svc.Approve(ctx, human, "acme", p2.ID)
	if err != nil || got.Status != learning.StatusHumanApproved || !got.Current || got.ApprovedBy != human.PrincipalID || got.ApprovedAt == nil {
		t.Fatalf("approve p2 = %+v, %v; want human_approved, current, by %s", got, err, human.PrincipalID)
	}
	if _, err := f.svc.Approve(ctx, human, "acme", p2.ID); !isCode(err, errs.CodeConflict) {
		t.Errorf("second approve = %v; want 409", err)
	}
	if _, err := f.svc.Reject(ctx, human, "acme", p2.ID, "late"); !isCode(err, errs.CodeConflict) {
		t.Errorf("reject after approve = %v; want 409", err)
	}
	// Another tenant's proposal is not found; a blank reason is invalid.
	if _, err := f.svc.Approve(ctx, human, "globex", p2.ID); !isCode(err, errs.CodeNotFound) {
		t.Errorf("approve from globex = %v; want 404", err)
	}
	if _, err := f.svc.Reject(ctx, human, "acme", p2.ID, " "); !isCode(err, errs.CodeUnprocessable) {
		t.Errorf("blank reason = %v; want 422", err)
	}
	page, err := f.svc.ListPrompts(ctx, learning.PromptFilter{TenantID: "acme", Role: work.RoleArchitect})
	if err != nil || len(page.Items) != 2 {
		t.Fatalf("list = %+v, %v", page, err)
	}
	for _, p := range page.Items {
		if p.Current != (p.ID == p2.ID) {
			t.Errorf("version %d current = %v; want only version 2 current", p.Version, p.Current)
		}
	}
	var row models.AgentPrompt
	if err := f.db.Where("id = ?", p1.ID).Take(&row).Error; err != nil || row.ApprovalStatus == string(learning.StatusPendingReview) {
		t.Errorf("p1 stored = %+v, %v; want decided", row, err)
	}
	stats, err := f.svc.Stats(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stats {
		if s.Role == work.RoleArchitect && (s.UpdatesToday != 2 || s.PendingReviews != 0 || s.CurrentVersion != 2 || !s.CanUpdateNow) {
			t.Errorf("architect stats = %+v; want 2 today, none pending, version 2 current, may update", s)
		}
	}
}

func isCode(err error, code errs.Code) bool {
	var e *errs.Error
	return errors.As(err, &e) && e.Code == code
}

// TestProposalWithLLMAnswer: a raw pattern analysis is validated with the
// patterns schema; its data and warnings are kept; a broken one is 422 and
// stores nothing.
func TestProposalWithLLMAnswer(t *testing.T) {
	f := newFixture(t)
	raw := "Analysis:\n```json\n" +
		`[{"pattern_type":"skill_gap","root_cause":"x'; DROP TABLE users; --","suggested_fix":"run the tests","confidence":0.9}]` + "\n```"
	p, err := f.svc.Propose(ctx, agent, learning.ProposalInput{
		TenantID: "acme", Role: work.RoleTester, Text: "test more", LearnedFromPattern: "skill_gap", LLMResponse: raw,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) == 0 || p.Warnings[0].Kind != llmcheck.WarnSQLInjection || p.LLMData == nil {
		t.Fatalf("proposal = %+v; want the data and a sql_injection warning", p)
	}
	page, _ := f.svc.ListPrompts(ctx, learning.PromptFilter{TenantID: "acme"})
	if len(page.Items) != 1 || len(page.Items[0].Warnings) != len(p.Warnings) || page.Items[0].Warnings[0] != p.Warnings[0] {
		t.Errorf("stored = %+v; want the warnings kept", page.Items)
	}
	_, err = f.svc.Propose(ctx, agent, learning.ProposalInput{
		TenantID: "acme", Role: work.RoleDeveloper, Text: "x", LearnedFromPattern: "y", LLMResponse: `[{"pattern_type":"bad"}]`,
	})
	if !isCode(err, errs.CodeUnprocessable) {
		t.Errorf("invalid answer = %v; want 422", err)
	}
	if n := f.count(t, "agent_prompts", "agent_role = 'developer'"); n != 0 {
		t.Errorf("the refused answer stored %d versions", n)
	}
}

// TestConcurrentProposalsKeepTheCap: many proposals of one role at once
// never exceed the cap nor share a cooldown.
func TestConcurrentProposalsKeepTheCap(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.SetGovernance(ctx, human, "acme", work.RoleDeveloper, learning.Rule{MaxUpdatesPerDay: 3}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.propose(work.RoleDeveloper, i)
			mu.Lock()
			defer mu.Unlock()
			if _, r := learning.RefusalOf(err); r {
				refused++
			} else if err == nil {
				ok++
			} else {
				t.Errorf("unexpected %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 3 || refused != 17 {
		t.Errorf("accepted %d, refused %d; want 3 and 17", ok, refused)
	}
	if n := f.count(t, "agent_prompts", "agent_role = 'developer'"); n != 3 {
		t.Errorf("%d versions stored; want 3", n)
	}
}

// TestCurrentStatusesAgreeWithWork: the agents of services/work report the
// newest version in work.CurrentPromptStatuses as current; those must be
// the approved statuses of this package.
func TestCurrentStatusesAgreeWithWork(t *testing.T) {
	want := []string{string(learning.StatusAutoApproved), string(learning.StatusHumanApproved)}
	if fmt.Sprint(work.CurrentPromptStatuses) != fmt.Sprint(want) {
		t.Errorf("work.CurrentPromptStatuses = %v, want %v", work.CurrentPromptStatuses, want)
	}
}
