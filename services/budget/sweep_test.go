package budget_test

import (
	"context"
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
