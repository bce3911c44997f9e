package budget_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/budget"
	"github.com/golden-architecture/control-plane/services/errs"
)

func TestExpire(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old := f.request(t, req(1000)).ReservationID
	f.clock.Advance(30 * time.Minute)
	young := f.request(t, req(2000)).ReservationID

	f.clock.Advance(29 * time.Minute)
	if n, err := f.svc.Expire(ctx); err != nil || n != 0 {
		t.Fatalf("Expire before the TTL = %d, %v; want 0", n, err)
	}
	f.clock.Advance(time.Minute) // old is exactly one hour old
	if n, err := f.svc.Expire(ctx); err != nil || n != 1 {
		t.Fatalf("Expire at the TTL = %d, %v; want 1", n, err)
	}
	r := f.reservation(t, old)
	if r.Status != "expired" || r.SettledAt == nil || r.ActualTokens != nil {
		t.Errorf("expired reservation = %+v", r)
	}
	want := budget.State{TenantID: "t1", ProjectID: "p1", Total: 100_000, Reserved: 2000, Available: 98_000, PendingReservations: 1}
	if diff := cmp.Diff(want, f.state(t, "t1", "p1")); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
	var l models.BudgetTransaction
	if err := f.db.Where("reservation_id = ? AND kind = 'expire'", old).Take(&l).Error; err != nil {
		t.Fatalf("expire ledger row: %v", err)
	}
	if l.DeltaReserved != -1000 || l.DeltaUsed != 0 || l.Actor != "system:sweeper" {
		t.Errorf("expire ledger row = %+v", l)
	}
	_, err := f.svc.Commit(ctx, operator, budget.CommitInput{TenantID: "t1", ProjectID: "p1", ReservationID: old, ActualTokens: 5})
	wantCode(t, err, errs.CodeConflict)
	_, err = f.svc.Release(ctx, operator, budget.ReleaseInput{TenantID: "t1", ProjectID: "p1", ReservationID: old})
	wantCode(t, err, errs.CodeConflict)
	if got := f.counter(t, "budget_expired_total", nil); got != 1 {
		t.Errorf("budget_expired_total = %v, want 1", got)
	}
	_ = young
}

// TestExpireEveryReplicaAtOnce: five sweepers (replicas) on 150 due
// reservations expire each exactly once.
func TestExpireEveryReplicaAtOnce(t *testing.T) {
	f := newFixture(t)
	const n = 150
	for range n {
		f.request(t, req(10))
	}
	f.clock.Advance(time.Hour)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
	)
	for range 5 {
		svc := f.replica(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := svc.Expire(context.Background())
			if err != nil {
				t.Errorf("Expire: %v", err)
			}
			mu.Lock()
			total += got
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != n {
		t.Errorf("expired %d in total, want %d", total, n)
	}
	if got := f.count(t, &models.BudgetTransaction{}, "kind = 'expire'"); got != n {
		t.Errorf("expire ledger rows = %d, want %d", got, n)
	}
	if s := f.state(t, "t1", "p1"); s.Reserved != 0 || s.PendingReservations != 0 {
		t.Errorf("state = %+v, want nothing reserved", s)
	}
}

func TestSweeperWorker(t *testing.T) {
	f := newFixture(t)
	f.request(t, req(10))
	f.clock.Advance(2 * time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.svc.Sweeper(10*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))(ctx)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for f.state(t, "t1", "p1").PendingReservations != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not expire the reservation")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

// TestExpireManyInBatches: 5 000 due reservations over 40 budgets of two
// tenants, swept by two replicas while callers commit some of the same
// reservations, are each settled exactly once (expired or committed), with
// one ledger row and one audit entry per expiry, the young reservations left
// pending, and the counters equal to the ledger (checked by the fixture).
func TestExpireManyInBatches(t *testing.T) {
	const (
		due     = 5000
		budgets = 40
		workers = 16
	)
	f := newFixture(t)
	ctx := context.Background()
	project := func(i int) (string, string) { return fmt.Sprint("t", 1+i%2), fmt.Sprint("p", i%budgets) }
	ids := make([]string, due)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < due; i += workers {
				tenant, proj := project(i)
				a, err := f.svc.Request(ctx, operator, budget.RequestInput{
					TenantID: tenant, ProjectID: proj, TaskID: "task", Model: "m", EstimatedTokens: 10,
				})
				if err != nil {
					t.Errorf("Request %d: %v", i, err)
					return
				}
				ids[i] = a.ReservationID
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	f.clock.Advance(time.Hour)
	young := f.request(t, req(10)).ReservationID

	// A batch takes at most its bound.
	if n, more, err := f.svc.ExpireBatch(ctx, 7); err != nil || n != 7 || !more {
		t.Fatalf("ExpireBatch(7) = %d, %v, %v; want 7, more, no error", n, more, err)
	}

	var (
		mu                 sync.Mutex
		expired, committed int
	)
	for range 2 {
		svc := f.replica(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := svc.Expire(ctx)
			if err != nil {
				t.Errorf("Expire: %v", err)
			}
			mu.Lock()
			expired += n
			mu.Unlock()
		}()
	}
	// Commits race the sweepers on every 10th reservation, newest first
	// (the sweepers take the oldest first): each one is either committed
	// here or already expired (a conflict), never both.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := due - 1; i >= 0; i -= 10 {
			tenant, proj := project(i)
			_, err := f.svc.Commit(ctx, operator, budget.CommitInput{TenantID: tenant, ProjectID: proj, ReservationID: ids[i], ActualTokens: 9})
			switch {
			case err == nil:
				mu.Lock()
				committed++
				mu.Unlock()
			case !errs.Is(err, errs.CodeConflict):
				t.Errorf("Commit %d: %v", i, err)
			}
		}
	}()
	wg.Wait()

	if got := 7 + expired + committed; got != due {
		t.Errorf("expired %d (7 + %d) + committed %d = %d, want %d", 7+expired, expired, committed, got, due)
	}
	if got := f.count(t, &models.BudgetReservation{}, "status = 'pending'"); got != 1 {
		t.Errorf("pending reservations = %d, want 1 (the young one)", got)
	}
	if r := f.reservation(t, young); r.Status != "pending" {
		t.Errorf("young reservation is %s, want pending", r.Status)
	}
	if got := f.count(t, &models.BudgetTransaction{}, "kind = 'expire'"); got != int64(7+expired) {
		t.Errorf("expire ledger rows = %d, want %d", got, 7+expired)
	}
	if got := f.count(t, &models.AuditEntry{}, "action = ? AND user_id = ''", budget.ActionExpire); got != int64(7+expired) {
		t.Errorf("%s audit entries = %d, want %d", budget.ActionExpire, got, 7+expired)
	}
	// Every reservation has exactly one settling ledger row.
	var twice int64
	if err := f.db.Raw(`SELECT COUNT(*) FROM (SELECT reservation_id FROM budget_transactions
		WHERE kind IN ('commit', 'release', 'expire') GROUP BY reservation_id HAVING COUNT(*) > 1) d`).Scan(&twice).Error; err != nil {
		t.Fatal(err)
	}
	if twice != 0 {
		t.Errorf("%d reservations settled more than once", twice)
	}
	if n, err := f.svc.Expire(ctx); err != nil || n != 0 {
		t.Errorf("Expire after the sweep = %d, %v; want 0", n, err)
	}
}
