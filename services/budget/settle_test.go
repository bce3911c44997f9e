package budget_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/budget"
	"github.com/golden-architecture/control-plane/services/errs"
)

func TestCommitAndReleaseRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	commit := func(id string, actual int64) (budget.Settlement, error) {
		return f.svc.Commit(ctx, operator, budget.CommitInput{TenantID: "t1", ProjectID: "p1", ReservationID: id, ActualTokens: actual})
	}
	release := func(id string) (budget.Settlement, error) {
		return f.svc.Release(ctx, operator, budget.ReleaseInput{TenantID: "t1", ProjectID: "p1", ReservationID: id})
	}
	committed := f.request(t, req(1000)).ReservationID
	if _, err := commit(committed, 900); err != nil {
		t.Fatal(err)
	}
	released := f.request(t, req(2000)).ReservationID
	if _, err := release(released); err != nil {
		t.Fatal(err)
	}
	pending := f.request(t, req(3000)).ReservationID
	elsewhere, err := f.svc.Request(ctx, operator, budget.RequestInput{TenantID: "t2", ProjectID: "p1", TaskID: "x", Model: "m", EstimatedTokens: 10})
	if err != nil {
		t.Fatal(err)
	}
	before := f.state(t, "t1", "p1")

	tests := []struct {
		name string
		call func() (budget.Settlement, error)
		want budget.Settlement
		code errs.Code
	}{
		{"commit again with the same tokens replays", func() (budget.Settlement, error) { return commit(committed, 900) },
			budget.Settlement{ReservationID: committed, Status: budget.StatusCommitted, Tokens: 900, Replayed: true}, ""},
		{"commit again with other tokens", func() (budget.Settlement, error) { return commit(committed, 901) }, budget.Settlement{}, errs.CodeConflict},
		{"release a committed one", func() (budget.Settlement, error) { return release(committed) }, budget.Settlement{}, errs.CodeConflict},
		{"release again replays", func() (budget.Settlement, error) { return release(released) },
			budget.Settlement{ReservationID: released, Status: budget.StatusReleased, Tokens: 2000, Replayed: true}, ""},
		{"commit a released one", func() (budget.Settlement, error) { return commit(released, 5) }, budget.Settlement{}, errs.CodeConflict},
		{"commit an unknown id", func() (budget.Settlement, error) { return commit("0196a000-0000-7000-8000-000000000000", 5) }, budget.Settlement{}, errs.CodeNotFound},
		{"commit a non-uuid id", func() (budget.Settlement, error) { return commit("not-a-uuid", 5) }, budget.Settlement{}, errs.CodeNotFound},
		{"release a non-uuid id", func() (budget.Settlement, error) { return release("'; drop table x; --") }, budget.Settlement{}, errs.CodeNotFound},
		{"commit another tenant's reservation", func() (budget.Settlement, error) { return commit(elsewhere.ReservationID, 5) }, budget.Settlement{}, errs.CodeNotFound},
		{"release another tenant's reservation", func() (budget.Settlement, error) { return release(elsewhere.ReservationID) }, budget.Settlement{}, errs.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.call()
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("settlement (-want +got):\n%s", diff)
			}
		})
	}
	if diff := cmp.Diff(before, f.state(t, "t1", "p1")); diff != "" {
		t.Errorf("refused and replayed calls changed the budget (-before +after):\n%s", diff)
	}
	if r := f.reservation(t, pending); r.Status != "pending" {
		t.Errorf("untouched reservation is %s", r.Status)
	}
	if got := f.count(t, &models.AuditEntry{}, "action IN ?", []string{budget.ActionCommit, budget.ActionRelease}); got != 2 {
		t.Errorf("commit/release audit entries = %d, want 2 (replays and refusals write none)", got)
	}
}

func TestConflictDetails(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := f.request(t, req(10)).ReservationID
	if _, err := f.svc.Commit(ctx, operator, budget.CommitInput{TenantID: "t1", ProjectID: "p1", ReservationID: id, ActualTokens: 7}); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Release(ctx, operator, budget.ReleaseInput{TenantID: "t1", ProjectID: "p1", ReservationID: id})
	e := wantCode(t, err, errs.CodeConflict)
	if diff := cmp.Diff(map[string]any{"status": "committed", "actual_tokens": int64(7)}, e.Details); diff != "" {
		t.Errorf("details (-want +got):\n%s", diff)
	}
}

func TestCommitAboveEstimateOverdraws(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.SetLimit(ctx, admin, "t1", "p1", 1000); err != nil {
		t.Fatal(err)
	}
	id := f.request(t, req(1000)).ReservationID
	if _, err := f.svc.Commit(ctx, operator, budget.CommitInput{TenantID: "t1", ProjectID: "p1", ReservationID: id, ActualTokens: 1500}); err != nil {
		t.Fatal(err)
	}
	want := budget.State{TenantID: "t1", ProjectID: "p1", Total: 1000, Used: 1500, Available: 0, Overdrawn: 500}
	if diff := cmp.Diff(want, f.state(t, "t1", "p1")); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
	_, err := f.svc.Request(ctx, operator, req(1))
	wantInsufficient(t, err, 0, 1)
}

// TestConcurrentSettlement races commits, releases and the sweeper of two
// replicas on each reservation: exactly one wins, tokens move once.
func TestConcurrentSettlement(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	replicas := []*budget.Service{f.svc, f.replica(t)}
	var ids []string
	for range 10 {
		ids = append(ids, f.request(t, req(100)).ReservationID)
	}
	f.clock.Advance(2 * 60 * 60 * 1e9) // past the TTL: the sweepers compete too
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, id := range ids {
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				svc := replicas[i%2]
				var err error
				switch i % 3 {
				case 0:
					_, err = svc.Commit(ctx, operator, budget.CommitInput{TenantID: "t1", ProjectID: "p1", ReservationID: id, ActualTokens: 80})
				case 1:
					_, err = svc.Release(ctx, operator, budget.ReleaseInput{TenantID: "t1", ProjectID: "p1", ReservationID: id})
				default:
					_, err = svc.Expire(ctx)
				}
				if err != nil && !errs.Is(err, errs.CodeConflict) {
					t.Errorf("settle %s: %v", id, err)
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	var ledger int64
	for _, id := range ids {
		r := f.reservation(t, id)
		if r.Status == "pending" {
			t.Errorf("reservation %s still pending", id)
		}
		ledger += f.count(t, &models.BudgetTransaction{}, "reservation_id = ? AND kind <> 'reserve'", id)
	}
	if ledger != int64(len(ids)) {
		t.Errorf("settlement ledger rows = %d, want %d (one per reservation)", ledger, len(ids))
	}
	if s := f.state(t, "t1", "p1"); s.Reserved != 0 || s.PendingReservations != 0 {
		t.Errorf("state = %+v, want nothing reserved", s)
	}
}
