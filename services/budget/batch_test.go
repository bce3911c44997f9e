package budget_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/budget"
	"github.com/golden-architecture/control-plane/services/errs"
)

// A batch approves in arrival order while the budget covers the requests;
// each refused one is told what was left for it, and the approved ones are
// stored with their ledger rows and audit entries in the batch's transaction.
func TestReserveBatchApprovesInOrder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.SetLimit(ctx, admin, "t1", "p1", 1000); err != nil {
		t.Fatal(err)
	}
	approved, errsOut := f.svc.ReserveBatch(ctx, operator, []budget.RequestInput{req(600), req(500), req(300), req(200)})
	for _, i := range []int{0, 2} {
		if errsOut[i] != nil || approved[i].ReservationID == "" {
			t.Errorf("request %d = %+v, %v; want approved", i, approved[i], errsOut[i])
		}
	}
	wantInsufficient(t, errsOut[1], 400, 500)
	wantInsufficient(t, errsOut[3], 100, 200)
	if approved[1].ReservationID != "" || approved[3].ReservationID != "" {
		t.Errorf("refused requests got reservations: %+v, %+v", approved[1], approved[3])
	}
	want := budget.State{TenantID: "t1", ProjectID: "p1", Total: 1000, Reserved: 900, Available: 100, PendingReservations: 2}
	if diff := cmp.Diff(want, f.state(t, "t1", "p1")); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
	for _, i := range []int{0, 2} {
		if r := f.reservation(t, approved[i].ReservationID); r.Tokens != []int64{600, 500, 300}[i] || r.Status != "pending" {
			t.Errorf("reservation %d stored as %d tokens, %s", i, r.Tokens, r.Status)
		}
	}
	if n := f.count(t, &models.AuditEntry{}, "action = ?", budget.ActionRequest); n != 2 {
		t.Errorf("request audit entries = %d, want 2", n)
	}
	if n := f.count(t, &models.BudgetTransaction{}, "kind = ?", "reserve"); n != 2 {
		t.Errorf("reserve ledger rows = %d, want 2", n)
	}
}

// A batch that approves nothing leaves nothing, not even the limit row of a
// budget it saw for the first time.
func TestReserveBatchRefusingAllLeavesNothing(t *testing.T) {
	f := newFixture(t)
	_, errsOut := f.svc.ReserveBatch(context.Background(), operator, []budget.RequestInput{req(100_001), req(200_000)})
	wantInsufficient(t, errsOut[0], 100_000, 100_001)
	wantInsufficient(t, errsOut[1], 100_000, 200_000)
	if n := f.count(t, &models.BudgetLimit{}, "1 = 1"); n != 0 {
		t.Errorf("budget rows = %d, want 0", n)
	}
}

// Two requests of one batch with one idempotency key: the transaction fails
// on the unique key and each is served alone, so one is approved and the
// other gets the duplicate-key error that Request answers with a replay.
func TestReserveBatchSameKey(t *testing.T) {
	f := newFixture(t)
	in := req(700)
	in.IdempotencyKey = "same"
	other := req(50)
	approved, errsOut := f.svc.ReserveBatch(context.Background(), operator, []budget.RequestInput{in, other, in})
	if errsOut[0] != nil || errsOut[1] != nil {
		t.Fatalf("first and other request: %v, %v; want approved", errsOut[0], errsOut[1])
	}
	if !errors.Is(errsOut[2], gorm.ErrDuplicatedKey) {
		t.Errorf("second request under the same key: %v, want gorm.ErrDuplicatedKey", errsOut[2])
	}
	if s := f.state(t, "t1", "p1"); s.Reserved != 750 || s.PendingReservations != 2 {
		t.Errorf("state = %+v, want 750 reserved by 2 reservations", s)
	}
	if a := f.request(t, in); a.ReservationID != approved[0].ReservationID || !a.Replayed {
		t.Errorf("Request under the key = %+v, want the stored reservation replayed", a)
	}
}

// One settlement batch with a commit, its retry, a conflicting commit, a
// release and an unknown id: each gets the answer it would get alone, and
// the budget moves once per reservation.
func TestSettleBatch(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.request(t, req(1000)).ReservationID
	b := f.request(t, req(2000)).ReservationID
	unknown := "0196a000-0000-7000-8000-000000000000"
	got, errsOut := f.svc.SettleBatch(ctx, operator, "t1", "p1",
		[]string{a, b, a, a, unknown}, []int64{900, -1, 900, 901, 5})
	want := []budget.Settlement{
		{ReservationID: a, Status: budget.StatusCommitted, Tokens: 900},
		{ReservationID: b, Status: budget.StatusReleased, Tokens: 2000},
		{ReservationID: a, Status: budget.StatusCommitted, Tokens: 900, Replayed: true},
		{}, {},
	}
	for i := range 3 {
		if errsOut[i] != nil {
			t.Errorf("call %d: %v", i, errsOut[i])
		}
	}
	wantCode(t, errsOut[3], errs.CodeConflict)
	wantCode(t, errsOut[4], errs.CodeNotFound)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("settlements (-want +got):\n%s", diff)
	}
	wantState := budget.State{TenantID: "t1", ProjectID: "p1", Total: 100_000, Used: 900, Available: 99_100}
	if diff := cmp.Diff(wantState, f.state(t, "t1", "p1")); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
	if n := f.count(t, &models.AuditEntry{}, "action IN ?", []string{budget.ActionCommit, budget.ActionRelease}); n != 2 {
		t.Errorf("settlement audit entries = %d, want 2", n)
	}
}

// TestHotBudgetCycles runs 200 request-then-settle cycles on one budget at
// once through two replicas, so batches of requests and of settlements on
// both replicas contend for one row: every cycle gets its answer, nothing is
// over-reserved, and the counters end equal to the ledger (checked by the
// fixture) and to what the cycles did.
func TestHotBudgetCycles(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	replicas := []*budget.Service{f.svc, f.replica(t)}
	if _, err := f.svc.SetLimit(ctx, admin, "t1", "p1", 150_000); err != nil {
		t.Fatal(err)
	}
	const n = 200
	var (
		wg                        sync.WaitGroup
		mu                        sync.Mutex
		used, committed, released int64
		refused                   int
		failures                  []error
		start                     = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			svc := replicas[i%2]
			in := req(1000)
			in.TaskID = fmt.Sprintf("task-%d", i)
			a, err := svc.Request(ctx, operator, in)
			if errs.Is(err, errs.CodeBudgetInsufficient) {
				mu.Lock()
				refused++
				mu.Unlock()
				return
			}
			if err != nil {
				mu.Lock()
				failures = append(failures, err)
				mu.Unlock()
				return
			}
			// Settle on the other replica; odd cycles release.
			other := replicas[(i+1)%2]
			if i%2 == 1 {
				_, err = other.Release(ctx, operator, budget.ReleaseInput{TenantID: "t1", ProjectID: "p1", ReservationID: a.ReservationID})
			} else {
				_, err = other.Commit(ctx, operator, budget.CommitInput{TenantID: "t1", ProjectID: "p1", ReservationID: a.ReservationID, ActualTokens: int64(500 + i)})
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				failures = append(failures, err)
			case i%2 == 1:
				released++
			default:
				committed++
				used += int64(500 + i)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d cycles failed, first: %v", len(failures), failures[0])
	}
	if int(committed+released)+refused != n {
		t.Errorf("committed %d + released %d + refused %d != %d", committed, released, refused, n)
	}
	s := f.state(t, "t1", "p1")
	if s.Used != used || s.Reserved != 0 || s.PendingReservations != 0 {
		t.Errorf("state = %+v; want used %d by %d commits, nothing reserved", s, used, committed)
	}
	if got := f.count(t, &models.BudgetReservation{}, "status = ?", "committed"); got != committed {
		t.Errorf("committed reservations = %d, want %d", got, committed)
	}
}
