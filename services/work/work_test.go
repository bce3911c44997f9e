package work_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/internal/dbtest"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/tenants"
	"github.com/golden-architecture/control-plane/services/work"
)

var (
	ctx = context.Background()
	dev = audit.Actor{PrincipalID: "user:u-dev", UserID: "u-dev", Username: "developer", Role: "developer", TenantID: "acme", RequestID: "req-1"}
)

// failingAuditor refuses every entry, as a database failing on the audit
// insert would.
type failingAuditor struct{}

func (failingAuditor) RecordAll(context.Context, *gorm.DB, []audit.Item) error {
	return errors.New("audit store down")
}

type fixture struct {
	svc *work.Service
	db  *gorm.DB
	reg *prometheus.Registry
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := dbtest.New(t).DB
	return newFixtureOn(t, db, audit.New(db))
}

func newFixtureOn(t *testing.T, db *gorm.DB, auditor work.Auditor) *fixture {
	t.Helper()
	reg := prometheus.NewRegistry()
	svc, err := work.New(db, auditor, work.Options{Tenants: tenants.New(db, audit.New(db)), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, db: db, reg: reg}
}

func (f *fixture) task(t *testing.T, agent string) work.Task {
	t.Helper()
	task, err := f.svc.CreateTask(ctx, dev, work.CreateTaskInput{TenantID: "acme", Title: "fix the build", AgentID: agent})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// force puts a task in state directly in the database.
func (f *fixture) force(t *testing.T, id string, state work.State) {
	t.Helper()
	if err := f.db.Model(&models.Task{}).Where("id = ?", id).Update("state", string(state)).Error; err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) count(t *testing.T, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := f.db.Table(table).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func ptr[T any](v T) *T { return &v }

// TestTransitionTable moves a task from every state to every state with
// PATCH semantics: the moves of the state machine succeed (with a state
// event, an audit entry and version + 1); every other move is 409
// state.conflict naming the allowed next states, and changes nothing; the
// same state is no move and writes nothing.
func TestTransitionTable(t *testing.T) {
	f := newFixture(t)
	allowed := map[work.State][]work.State{
		work.StatePending:   {work.StateRunning, work.StateFailed, work.StateCancelled},
		work.StateRunning:   {work.StateReview, work.StateFailed, work.StateCancelled},
		work.StateReview:    {work.StateCompleted, work.StateFailed, work.StateCancelled},
		work.StateEscalated: {work.StateFailed, work.StateCancelled},
	}
	for _, from := range work.States {
		for _, to := range work.States {
			t.Run(fmt.Sprintf("%s to %s", from, to), func(t *testing.T) {
				task := f.task(t, "")
				f.force(t, task.ID, from)
				events := f.count(t, "task_events", "task_id = ?", task.ID)
				got, err := f.svc.UpdateTask(ctx, dev, "acme", task.ID, work.UpdateTaskInput{State: ptr(to), Version: ptr(task.Version)})
				switch {
				case from == to:
					if err != nil || got.State != from || got.Version != task.Version {
						t.Fatalf("same state = %v, %+v; want no change", err, got)
					}
					if n := f.count(t, "task_events", "task_id = ?", task.ID); n != events {
						t.Errorf("events = %d, want %d", n, events)
					}
				case slices.Contains(allowed[from], to):
					if err != nil {
						t.Fatalf("allowed move refused: %v", err)
					}
					if got.State != to || got.Version != task.Version+1 {
						t.Errorf("got %s v%d, want %s v%d", got.State, got.Version, to, task.Version+1)
					}
					if n := f.count(t, "task_events", "task_id = ? AND kind = 'state' AND from_state = ? AND to_state = ?", task.ID, from, to); n != 1 {
						t.Errorf("state events = %d, want 1", n)
					}
					if n := f.count(t, "audit_log", "resource_id = ? AND action = 'task.update'", task.ID); n != 1 {
						t.Errorf("task.update entries = %d, want 1", n)
					}
				default:
					var e *errs.Error
					if !errors.As(err, &e) || e.Code != errs.CodeConflict {
						t.Fatalf("err = %v, want state.conflict", err)
					}
					want := []string{}
					for _, s := range allowed[from] {
						want = append(want, string(s))
					}
					if diff := cmp.Diff(map[string]any{"state": string(from), "requested_state": string(to), "allowed_states": want}, e.Details); diff != "" {
						t.Errorf("details (-want +got):\n%s", diff)
					}
					var row models.Task
					if err := f.db.Where("id = ?", task.ID).Take(&row).Error; err != nil {
						t.Fatal(err)
					}
					if row.State != string(from) || row.Version != task.Version {
						t.Errorf("stored %s v%d, want unchanged %s v%d", row.State, row.Version, from, task.Version)
					}
					if n := f.count(t, "task_events", "task_id = ?", task.ID); n != events {
						t.Errorf("events = %d, want %d", n, events)
					}
				}
			})
		}
	}
}

func TestStaleVersion(t *testing.T) {
	f := newFixture(t)
	task := f.task(t, "")
	if _, err := f.svc.UpdateTask(ctx, dev, "acme", task.ID, work.UpdateTaskInput{Title: ptr("first"), Version: ptr(int64(1))}); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.UpdateTask(ctx, dev, "acme", task.ID, work.UpdateTaskInput{Title: ptr("second"), Version: ptr(int64(1))})
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.CodeConflict || e.Details["version"] != int64(2) {
		t.Fatalf("stale update = %v; want state.conflict naming version 2", err)
	}
	got, err := f.svc.GetTask(ctx, "acme", task.ID)
	if err != nil || got.Title != "first" || got.Version != 2 {
		t.Errorf("task = %+v, %v; want the first update only", got, err)
	}
	// Another tenant's task is not found, whatever the version.
	if _, err := f.svc.UpdateTask(ctx, dev, "globex", task.ID, work.UpdateTaskInput{Title: ptr("x")}); !errs.Is(err, errs.CodeNotFound) {
		t.Errorf("update from another tenant = %v, want resource.not_found", err)
	}
}

// TestConcurrentUpdates: 20 changes carrying one version at once: exactly one
// wins, the others are 409, and the task is at version 2.
func TestConcurrentUpdates(t *testing.T) {
	f := newFixture(t)
	task := f.task(t, "")
	var mu sync.Mutex
	won, lost := 0, 0
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.svc.UpdateTask(ctx, dev, "acme", task.ID, work.UpdateTaskInput{Title: ptr(fmt.Sprint("title ", i)), Version: ptr(int64(1))})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errs.Is(err, errs.CodeConflict):
				lost++
			default:
				t.Errorf("update: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || lost != 19 {
		t.Errorf("won %d, lost %d; want 1 and 19", won, lost)
	}
	if n := f.count(t, "task_events", "task_id = ? AND kind = 'updated'", task.ID); n != 1 {
		t.Errorf("updated events = %d, want 1", n)
	}
}

// TestEscalationsMoveTheTask: opening moves a running task to escalated, a
// second one keeps it there, resolving one of two leaves it escalated,
// resolving the last returns it to running; a second resolve is 409.
func TestEscalationsMoveTheTask(t *testing.T) {
	f := newFixture(t)
	task := f.task(t, "")
	open := func() work.Escalation {
		t.Helper()
		e, err := f.svc.OpenEscalation(ctx, dev, work.OpenInput{TenantID: "acme", TaskID: task.ID, Reason: "stuck", PatternType: work.PatternSkillGap})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	if _, err := f.svc.OpenEscalation(ctx, dev, work.OpenInput{TenantID: "acme", TaskID: task.ID, Reason: "stuck", PatternType: work.PatternSkillGap}); !errs.Is(err, errs.CodeConflict) {
		t.Fatalf("escalating a pending task = %v, want state.conflict", err)
	}
	if _, err := f.svc.UpdateTask(ctx, dev, "acme", task.ID, work.UpdateTaskInput{State: ptr(work.StateRunning)}); err != nil {
		t.Fatal(err)
	}
	first, second := open(), open()
	if first.TaskState != work.StateEscalated || second.TaskState != work.StateEscalated {
		t.Errorf("task states = %s, %s; want escalated", first.TaskState, second.TaskState)
	}
	state := func() (work.State, int64) {
		got, err := f.svc.GetTask(ctx, "acme", task.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.State, got.Version
	}
	if s, v := state(); s != work.StateEscalated || v != 3 {
		t.Errorf("after two escalations: %s v%d, want escalated v3", s, v)
	}
	r, err := f.svc.ResolveEscalation(ctx, dev, "acme", first.ID, work.ResolveInput{Resolution: "added a skill"})
	if err != nil || r.TaskState != work.StateEscalated || r.ResolvedAt == nil {
		t.Fatalf("resolve first = %+v, %v; want resolved, task still escalated", r, err)
	}
	if _, err := f.svc.ResolveEscalation(ctx, dev, "acme", first.ID, work.ResolveInput{Resolution: "again"}); !errs.Is(err, errs.CodeConflict) {
		t.Errorf("second resolve = %v, want state.conflict", err)
	}
	if _, err := f.svc.ResolveEscalation(ctx, dev, "globex", second.ID, work.ResolveInput{Resolution: "x"}); !errs.Is(err, errs.CodeNotFound) {
		t.Errorf("resolve from another tenant = %v, want resource.not_found", err)
	}
	r, err = f.svc.ResolveEscalation(ctx, dev, "", second.ID, work.ResolveInput{Resolution: "fixed", Data: map[string]any{"pr": 7}})
	if err != nil || r.TaskState != work.StateRunning {
		t.Fatalf("resolve last = %+v, %v; want the task running", r, err)
	}
	if s, v := state(); s != work.StateRunning || v != 4 {
		t.Errorf("after resolving both: %s v%d, want running v4", s, v)
	}
	if n := f.count(t, "task_events", "task_id = ? AND kind = 'state'", task.ID); n != 3 {
		t.Errorf("state events = %d, want 3 (running, escalated, running)", n)
	}
	if n := f.count(t, "audit_log", "action IN ('escalation.create', 'escalation.resolve')"); n != 4 {
		t.Errorf("escalation audit entries = %d, want 4", n)
	}
}

// TestConcurrentResolve: 20 resolves of one escalation at once: exactly one
// wins, the task returns to running once.
func TestConcurrentResolve(t *testing.T) {
	f := newFixture(t)
	task := f.task(t, "")
	f.force(t, task.ID, work.StateRunning)
	e, err := f.svc.OpenEscalation(ctx, dev, work.OpenInput{TenantID: "acme", TaskID: task.ID, Reason: "stuck", PatternType: work.PatternProcessIssue})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	won, lost := 0, 0
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.svc.ResolveEscalation(ctx, dev, "acme", e.ID, work.ResolveInput{Resolution: fmt.Sprint("fix ", i)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errs.Is(err, errs.CodeConflict):
				lost++
			default:
				t.Errorf("resolve: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || lost != 19 {
		t.Errorf("won %d, lost %d; want 1 and 19", won, lost)
	}
	if n := f.count(t, "task_events", "task_id = ? AND kind = 'state' AND to_state = 'running'", task.ID); n != 1 {
		t.Errorf("moves back to running = %d, want 1", n)
	}
	if n := f.count(t, "audit_log", "action = 'escalation.resolve'"); n != 1 {
		t.Errorf("escalation.resolve entries = %d, want 1", n)
	}
}

// TestAuditInTheSameTransaction: when the audit entry cannot be written, the
// change is not stored either (no task, no event, no escalation, no move).
func TestAuditInTheSameTransaction(t *testing.T) {
	good := newFixture(t)
	task := good.task(t, "")
	good.force(t, task.ID, work.StateRunning)
	bad := newFixtureOn(t, good.db, failingAuditor{})

	if _, err := bad.svc.CreateTask(ctx, dev, work.CreateTaskInput{TenantID: "acme", Title: "lost"}); err == nil {
		t.Error("create without audit succeeded")
	}
	if n := good.count(t, "tasks", "title = 'lost'"); n != 0 {
		t.Errorf("tasks stored without their audit entry: %d", n)
	}
	if _, err := bad.svc.UpdateTask(ctx, dev, "acme", task.ID, work.UpdateTaskInput{State: ptr(work.StateReview)}); err == nil {
		t.Error("update without audit succeeded")
	}
	if _, err := bad.svc.OpenEscalation(ctx, dev, work.OpenInput{TenantID: "acme", TaskID: task.ID, Reason: "r", PatternType: work.PatternSkillGap}); err == nil {
		t.Error("escalation without audit succeeded")
	}
	got, err := good.svc.GetTask(ctx, "acme", task.ID)
	if err != nil || got.State != work.StateRunning || got.Version != 1 {
		t.Errorf("task = %+v, %v; want running v1 as before", got, err)
	}
	if n := good.count(t, "escalations", "1 = 1"); n != 0 {
		t.Errorf("escalations stored without their audit entry: %d", n)
	}
	if n := good.count(t, "task_events", "task_id = ?", task.ID); n != 1 {
		t.Errorf("task events = %d, want only the creation", n)
	}
	// And a refused change writes no audit entry.
	before := good.count(t, "audit_log", "1 = 1")
	if _, err := good.svc.UpdateTask(ctx, dev, "acme", task.ID, work.UpdateTaskInput{State: ptr(work.StatePending)}); !errs.Is(err, errs.CodeConflict) {
		t.Fatalf("running → pending = %v, want state.conflict", err)
	}
	if n := good.count(t, "audit_log", "1 = 1"); n != before {
		t.Errorf("audit entries %d → %d after a refused change", before, n)
	}
}

// TestAgents: a task takes only an active agent of its tenant; retiring an
// agent with a task in progress is 409 unless forced.
func TestAgents(t *testing.T) {
	f := newFixture(t)
	for _, in := range []work.CreateAgentInput{
		{TenantID: "acme", ID: "builder", Role: work.RoleDeveloper},
		{TenantID: "acme", ID: "napper", Role: work.RoleTester, Status: work.AgentPaused},
		{TenantID: "globex", ID: "outsider", Role: work.RoleReviewer},
	} {
		if _, err := f.svc.CreateAgent(ctx, dev, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.CreateAgent(ctx, dev, work.CreateAgentInput{TenantID: "acme", ID: "builder", Role: work.RoleDeveloper}); !errs.Is(err, errs.CodeConflict) {
		t.Errorf("taken id = %v, want state.conflict", err)
	}
	if _, err := f.svc.CreateTask(ctx, dev, work.CreateTaskInput{TenantID: "acme", Title: "t", AgentID: "napper"}); !errs.Is(err, errs.CodeConflict) {
		t.Errorf("paused agent = %v, want state.conflict", err)
	}
	if _, err := f.svc.CreateTask(ctx, dev, work.CreateTaskInput{TenantID: "acme", Title: "t", AgentID: "outsider"}); !errs.Is(err, errs.CodeUnprocessable) {
		t.Errorf("another tenant's agent = %v, want a 422", err)
	}
	task := f.task(t, "builder")
	if task.AgentID != "builder" {
		t.Fatalf("agent = %q", task.AgentID)
	}
	f.force(t, task.ID, work.StateRunning)
	retired := work.AgentRetired
	_, err := f.svc.UpdateAgent(ctx, dev, "acme", "builder", work.UpdateAgentInput{Status: &retired})
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.CodeConflict || e.Details["tasks_in_progress"] != int64(1) {
		t.Fatalf("retire with a running task = %v, want state.conflict naming 1 task", err)
	}
	a, err := f.svc.UpdateAgent(ctx, dev, "acme", "builder", work.UpdateAgentInput{Status: &retired, Force: true})
	if err != nil || a.Status != work.AgentRetired {
		t.Fatalf("forced retire = %+v, %v", a, err)
	}
	if n := f.count(t, "audit_log", "action = 'agent.update' AND resource_id = 'acme/builder'"); n != 1 {
		t.Errorf("agent.update entries = %d, want 1", n)
	}
	if _, err := f.svc.CreateTask(ctx, dev, work.CreateTaskInput{TenantID: "acme", Title: "t", AgentID: "builder"}); !errs.Is(err, errs.CodeConflict) {
		t.Errorf("retired agent = %v, want state.conflict", err)
	}
}
