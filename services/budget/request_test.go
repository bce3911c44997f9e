package budget_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/budget"
	"github.com/golden-architecture/control-plane/services/errs"
)

func TestRequestCommitState(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	a := f.request(t, req(1000))
	if a.Allocated != 1000 || a.Replayed || a.ReservationID == "" || a.Available != 99_000 {
		t.Fatalf("approval = %+v, want 1000 allocated, not replayed, an id, 99 000 left", a)
	}
	if want := f.clock.Now().Add(time.Hour); !a.ExpiresAt.Equal(want) {
		t.Errorf("expires_at = %v, want %v", a.ExpiresAt, want)
	}
	want := budget.State{TenantID: "t1", ProjectID: "p1", Total: 100_000, Reserved: 1000, Available: 99_000, PendingReservations: 1}
	if diff := cmp.Diff(want, f.state(t, "t1", "p1")); diff != "" {
		t.Errorf("state after request (-want +got):\n%s", diff)
	}

	s, err := f.svc.Commit(ctx, admin, budget.CommitInput{TenantID: "t1", ProjectID: "p1", ReservationID: a.ReservationID, ActualTokens: 1200})
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if diff := cmp.Diff(budget.Settlement{ReservationID: a.ReservationID, Status: budget.StatusCommitted, Tokens: 1200}, s); diff != "" {
		t.Errorf("settlement (-want +got):\n%s", diff)
	}
	want = budget.State{TenantID: "t1", ProjectID: "p1", Total: 100_000, Used: 1200, Available: 98_800}
	if diff := cmp.Diff(want, f.state(t, "t1", "p1")); diff != "" {
		t.Errorf("state after commit (-want +got):\n%s", diff)
	}

	r := f.reservation(t, a.ReservationID)
	if r.Status != "committed" || r.ActualTokens == nil || *r.ActualTokens != 1200 || r.SettledAt == nil || r.CreatedBy != "operator" {
		t.Errorf("stored reservation = %+v", r)
	}
	var ledger []models.BudgetTransaction
	f.db.Order("id").Find(&ledger)
	gotKinds := []string{}
	for _, l := range ledger {
		gotKinds = append(gotKinds, fmt.Sprintf("%s %+d/%+d by %s req %s", l.Kind, l.DeltaReserved, l.DeltaUsed, l.Actor, l.RequestID))
	}
	wantKinds := []string{"reserve +1000/+0 by operator req req-op", "commit -1000/+1200 by admin req req-test"}
	if diff := cmp.Diff(wantKinds, gotKinds); diff != "" {
		t.Errorf("ledger (-want +got):\n%s", diff)
	}
	var entries []models.AuditEntry
	f.db.Where("action LIKE ?", "budget.%").Order("id").Find(&entries)
	var gotAudit []string
	for _, e := range entries {
		gotAudit = append(gotAudit, e.Action+" "+e.ResourceID+" "+e.RequestID)
	}
	wantAudit := []string{"budget.request " + a.ReservationID + " req-op", "budget.commit " + a.ReservationID + " req-test"}
	if diff := cmp.Diff(wantAudit, gotAudit); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	if got := f.counter(t, "budget_requests_total", map[string]string{"status": "approved"}); got != 1 {
		t.Errorf("budget_requests_total{approved} = %v, want 1", got)
	}
	if got := f.counter(t, "budget_commits_total", nil); got != 1 {
		t.Errorf("budget_commits_total = %v, want 1", got)
	}
}

func TestRequestInsufficient(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.SetLimit(ctx, admin, "t1", "p1", 1500); err != nil {
		t.Fatal(err)
	}
	f.request(t, req(1000))

	_, err := f.svc.Request(ctx, operator, req(600))
	wantInsufficient(t, err, 500, 600)
	if got := f.count(t, &models.BudgetReservation{}, "1 = 1"); got != 1 {
		t.Errorf("reservations = %d, want 1 (a refused request stores nothing)", got)
	}
	if got := f.count(t, &models.AuditEntry{}, "action = ?", budget.ActionRequest); got != 1 {
		t.Errorf("budget.request audit entries = %d, want 1", got)
	}
	// Exactly what is left is still granted.
	f.request(t, req(500))
	if s := f.state(t, "t1", "p1"); s.Available != 0 || s.Reserved != 1500 {
		t.Errorf("state = %+v, want available 0, reserved 1500", s)
	}

	// A budget never seen is created with the default only when the
	// request fits; a refused one leaves nothing behind.
	_, err = f.svc.Request(ctx, operator, budget.RequestInput{TenantID: "new", ProjectID: "p", TaskID: "x", Model: "m", EstimatedTokens: 100_001})
	wantInsufficient(t, err, 100_000, 100_001)
	if got := f.count(t, &models.BudgetLimit{}, "tenant_id = ?", "new"); got != 0 {
		t.Errorf("limit rows of a refused new budget = %d, want 0", got)
	}
	if got := f.counter(t, "budget_requests_total", map[string]string{"status": "insufficient"}); got != 2 {
		t.Errorf("budget_requests_total{insufficient} = %v, want 2", got)
	}
}

func wantInsufficient(t testing.TB, err error, available, requested int64) {
	t.Helper()
	e := wantCode(t, err, errs.CodeBudgetInsufficient)
	want := map[string]any{"available": available, "requested": requested}
	if diff := cmp.Diff(want, e.Details); diff != "" {
		t.Errorf("details (-want +got):\n%s", diff)
	}
}

func wantCode(t testing.TB, err error, code errs.Code) *errs.Error {
	t.Helper()
	e, ok := err.(*errs.Error)
	if !ok {
		t.Fatalf("error = %v (%T), want *errs.Error with %s", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("code = %s (%v), want %s", e.Code, err, code)
	}
	return e
}

func TestIdempotency(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := req(1000)
	in.IdempotencyKey = "key-1"
	first := f.request(t, in)

	t.Run("same key and fields replays the first answer", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		again := f.request(t, in)
		want := first
		want.Replayed, want.Available = true, 0 // a replay does not say what is left
		if diff := cmp.Diff(want, again); diff != "" {
			t.Errorf("replay (-want +got):\n%s", diff)
		}
		if s := f.state(t, "t1", "p1"); s.Reserved != 1000 {
			t.Errorf("reserved = %d, want 1000 (a replay reserves nothing)", s.Reserved)
		}
	})
	t.Run("same key and other fields is a conflict", func(t *testing.T) {
		for _, change := range []func(*budget.RequestInput){
			func(r *budget.RequestInput) { r.EstimatedTokens = 999 },
			func(r *budget.RequestInput) { r.TaskID = "task-2" },
			func(r *budget.RequestInput) { r.Model = "other" },
			func(r *budget.RequestInput) { r.Purpose = "p" },
		} {
			other := in
			change(&other)
			_, err := f.svc.Request(ctx, operator, other)
			wantCode(t, err, errs.CodeIdempotencyClash)
		}
	})
	t.Run("keys are scoped to the tenant and project", func(t *testing.T) {
		other := in
		other.ProjectID = "p2"
		a := f.request(t, other)
		if a.ReservationID == first.ReservationID || a.Replayed {
			t.Errorf("approval in another project = %+v, want a new reservation", a)
		}
	})
	t.Run("a replay still answers after the reservation is settled", func(t *testing.T) {
		if _, err := f.svc.Release(ctx, operator, budget.ReleaseInput{TenantID: "t1", ProjectID: "p1", ReservationID: first.ReservationID}); err != nil {
			t.Fatal(err)
		}
		if again := f.request(t, in); again.ReservationID != first.ReservationID || !again.Replayed {
			t.Errorf("replay after release = %+v, want the first reservation", again)
		}
	})
	t.Run("an insufficient answer is not stored; a retry is evaluated afresh", func(t *testing.T) {
		big := req(200_000)
		big.IdempotencyKey = "key-big"
		_, err := f.svc.Request(ctx, operator, big)
		wantCode(t, err, errs.CodeBudgetInsufficient)
		if _, err := f.svc.SetLimit(ctx, admin, "t1", "p1", 300_000); err != nil {
			t.Fatal(err)
		}
		if a := f.request(t, big); a.Replayed || a.Allocated != 200_000 {
			t.Errorf("retry after raising the limit = %+v, want a fresh approval", a)
		}
	})
	if got := f.counter(t, "budget_requests_total", map[string]string{"status": "replayed"}); got != 2 {
		t.Errorf("budget_requests_total{replayed} = %v, want 2", got)
	}
}

// TestConcurrentRetries sends 20 retries of one key at once, through two
// service instances (two replicas): one reservation, every answer the same.
func TestConcurrentRetries(t *testing.T) {
	f := newFixture(t)
	replicas := []*budget.Service{f.svc, f.replica(t)}
	in := req(700)
	in.IdempotencyKey = "retry-me"
	const n = 20
	ids := make([]string, n)
	errsOut := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a, err := replicas[i%2].Request(context.Background(), operator, in)
			ids[i], errsOut[i] = a.ReservationID, err
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errsOut[i] != nil {
			t.Fatalf("retry %d: %v", i, errsOut[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("retry %d got reservation %s, retry 0 got %s", i, ids[i], ids[0])
		}
	}
	if got := f.count(t, &models.BudgetReservation{}, "1 = 1"); got != 1 {
		t.Errorf("reservations = %d, want 1", got)
	}
	if s := f.state(t, "t1", "p1"); s.Reserved != 700 {
		t.Errorf("reserved = %d, want 700", s.Reserved)
	}
}

// TestConcurrentRequests: 500 requests of 1,000 tokens at once against the
// default 100,000 through two instances: exactly 100 are approved.
func TestConcurrentRequests(t *testing.T) {
	f := newFixture(t)
	replicas := []*budget.Service{f.svc, f.replica(t)}
	const n = 500
	var (
		wg                sync.WaitGroup
		mu                sync.Mutex
		approved, refused int
		other             []error
		start             = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			in := req(1000)
			in.TaskID = fmt.Sprintf("task-%d", i)
			_, err := replicas[i%2].Request(context.Background(), operator, in)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				approved++
			case errs.Is(err, errs.CodeBudgetInsufficient):
				refused++
			default:
				other = append(other, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(other) > 0 {
		t.Fatalf("%d unexpected errors, first: %v", len(other), other[0])
	}
	if approved != 100 || refused != 400 {
		t.Errorf("approved %d, refused %d; want 100 and 400", approved, refused)
	}
	want := budget.State{TenantID: "t1", ProjectID: "p1", Total: 100_000, Reserved: 100_000, PendingReservations: 100}
	if diff := cmp.Diff(want, f.state(t, "t1", "p1")); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
}
