package budget_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/internal/metrictest"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/budget"
	"github.com/golden-architecture/control-plane/services/errs"
)

// answer is what a call returned.
type answer[T any] struct {
	out T
	err error
}

// queue starts call in a goroutine and waits until it is queued (queued
// grew), so calls reach a held service in the order they are started.
func queue[T any](t *testing.T, queued func() int, call func() (T, error)) <-chan answer[T] {
	t.Helper()
	before := queued()
	ch := make(chan answer[T], 1)
	go func() {
		out, err := call()
		ch <- answer[T]{out, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for queued() == before {
		if time.Now().After(deadline) {
			t.Fatal("call was never queued")
		}
		time.Sleep(time.Millisecond)
	}
	return ch
}

func wait[T any](t *testing.T, ch <-chan answer[T]) answer[T] {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(30 * time.Second):
		t.Fatal("no answer within 30 s")
		return answer[T]{}
	}
}

// histogram reads the count and sum of a histogram series of the fixture's
// registry.
func (f *fixture) histogram(t testing.TB, name string, labels map[string]string) (count uint64, sum float64) {
	t.Helper()
	h := metrictest.Sample(t, f.reg, name, labels).GetHistogram()
	return h.GetSampleCount(), h.GetSampleSum()
}

// Requests on several budgets that queue while a transaction runs are served
// by one transaction, and each caller gets the answer it would get alone:
// approvals in arrival order per budget, refusals that fail no one else, a
// replay answered from the stored reservation, a second request under a key
// the batch approved answered with that reservation (or idempotency.conflict
// when its body differs), a key whose first request was refused evaluated
// afresh, and new budgets (one of a new tenant) created with the default
// limit only when something was approved on them.
func TestCrossBudgetRequestBatch(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for p, total := range map[string]int64{"p1": 1000, "p2": 500} {
		if _, err := f.svc.SetLimit(ctx, admin, "t1", p, total); err != nil {
			t.Fatal(err)
		}
	}
	on := func(tenant, project string, tokens int64, key string) budget.RequestInput {
		in := req(tokens)
		in.TenantID, in.ProjectID, in.IdempotencyKey = tenant, project, key
		return in
	}
	stored := f.request(t, on("t1", "p1", 100, "k-replay"))

	countBefore, sumBefore := f.histogram(t, "budget_batch_size", map[string]string{"kind": "reserve"})
	queued, release := f.svc.Hold()
	reserves := func() int { n, _ := queued(); return n }
	calls := []struct {
		name string
		in   budget.RequestInput
	}{
		{"p1 approved", on("t1", "p1", 600, "")},
		{"p2 above its limit", on("t1", "p2", 600, "")},
		{"p2 under key k2", on("t1", "p2", 400, "k2")},
		{"p1 above what is left", on("t1", "p1", 400, "")},
		{"p2 k2 again, same body", on("t1", "p2", 400, "k2")},
		{"new budget p3", on("t1", "p3", 50, "")},
		{"new budget p4 above the default", on("t1", "p4", 200_000, "")},
		{"p2 k2 with another body", on("t1", "p2", 10, "k2")},
		{"new tenant t2", on("t2", "p1", 10, "")},
		{"p1 k3 refused", on("t1", "p1", 5000, "k3")},
		{"p1 k3 afresh", on("t1", "p1", 200, "k3")},
	}
	chans := make([]<-chan answer[budget.Approval], len(calls))
	for i, c := range calls {
		chans[i] = queue(t, reserves, func() (budget.Approval, error) { return f.svc.Request(ctx, operator, c.in) })
	}
	// A replay is answered at once, without joining the batch.
	replay, err := f.svc.Request(ctx, operator, on("t1", "p1", 100, "k-replay"))
	if err != nil || replay.ReservationID != stored.ReservationID || !replay.Replayed {
		t.Errorf("replay = %+v, %v; want reservation %s replayed", replay, err, stored.ReservationID)
	}
	if n := reserves(); n != len(calls) {
		t.Fatalf("%d requests queued, want %d", n, len(calls))
	}
	release()
	got := make([]answer[budget.Approval], len(calls))
	for i, ch := range chans {
		got[i] = wait(t, ch)
	}

	for _, i := range []int{0, 2, 5, 8, 10} {
		if got[i].err != nil || got[i].out.ReservationID == "" || got[i].out.Replayed || got[i].out.Allocated != calls[i].in.EstimatedTokens {
			t.Errorf("%s = %+v, %v; want approved", calls[i].name, got[i].out, got[i].err)
		}
	}
	wantInsufficient(t, got[1].err, 500, 600)
	wantInsufficient(t, got[3].err, 300, 400)
	wantInsufficient(t, got[6].err, 100_000, 200_000)
	wantInsufficient(t, got[9].err, 300, 5000)
	if got[4].err != nil || got[4].out.ReservationID != got[2].out.ReservationID || !got[4].out.Replayed {
		t.Errorf("%s = %+v, %v; want %s replayed", calls[4].name, got[4].out, got[4].err, got[2].out.ReservationID)
	}
	wantCode(t, got[7].err, errs.CodeIdempotencyClash)

	count, sum := f.histogram(t, "budget_batch_size", map[string]string{"kind": "reserve"})
	if count-countBefore != 1 || sum-sumBefore != float64(len(calls)) {
		t.Errorf("budget_batch_size{kind=reserve} grew by %d batches of %g calls, want 1 of %d", count-countBefore, sum-sumBefore, len(calls))
	}
	for _, w := range []budget.State{
		{TenantID: "t1", ProjectID: "p1", Total: 1000, Reserved: 900, Available: 100, PendingReservations: 3},
		{TenantID: "t1", ProjectID: "p2", Total: 500, Reserved: 400, Available: 100, PendingReservations: 1},
		{TenantID: "t1", ProjectID: "p3", Total: 100_000, Reserved: 50, Available: 99_950, PendingReservations: 1},
		{TenantID: "t2", ProjectID: "p1", Total: 100_000, Reserved: 10, Available: 99_990, PendingReservations: 1},
	} {
		if diff := cmp.Diff(w, f.state(t, w.TenantID, w.ProjectID)); diff != "" {
			t.Errorf("state of %s/%s (-want +got):\n%s", w.TenantID, w.ProjectID, diff)
		}
	}
	if n := f.count(t, &models.BudgetLimit{}, "project_id = ?", "p4"); n != 0 {
		t.Errorf("budget p4, whose only request was refused, has %d rows; want none", n)
	}
	if n := f.count(t, &models.Tenant{}, "id = ?", "t2"); n != 1 {
		t.Errorf("tenant t2 rows = %d, want 1 (created with its first budget)", n)
	}
	if n := f.count(t, &models.BudgetReservation{}, "1 = 1"); n != 6 {
		t.Errorf("reservations = %d, want 6", n)
	}
	if n := f.count(t, &models.AuditEntry{}, "action = ?", budget.ActionRequest); n != 6 {
		t.Errorf("request audit entries = %d, want 6", n)
	}
	if n := f.count(t, &models.BudgetTransaction{}, "kind = ?", "reserve"); n != 6 {
		t.Errorf("reserve ledger rows = %d, want 6", n)
	}
}

// One settlement batch over several budgets: commits, a release, a replay, a
// conflict, an unknown id, a reservation named with the wrong budget, and a
// commit above the cap followed by a valid one on the same reservation. Each
// call gets the answer it would get alone, and each budget moves once per
// reservation.
func TestCrossBudgetSettleBatch(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	on := func(project string, tokens int64) string {
		in := req(tokens)
		in.ProjectID = project
		return f.request(t, in).ReservationID
	}
	r1, r2, r3, r4 := on("p1", 1000), on("p2", 2000), on("p3", 500), on("p1", 300)
	unknown := "0196a000-0000-7000-8000-000000000000"
	reqs := []budget.SettleReq{
		{TenantID: "t1", ProjectID: "p1", ReservationID: r1, Actual: 900},
		{TenantID: "t1", ProjectID: "p2", ReservationID: r2, Actual: -1},
		{TenantID: "t1", ProjectID: "p1", ReservationID: r3, Actual: 100}, // r3 is p3's
		{TenantID: "t1", ProjectID: "p3", ReservationID: r3, Actual: 1001},
		{TenantID: "t1", ProjectID: "p3", ReservationID: r3, Actual: 1000},
		{TenantID: "t1", ProjectID: "p1", ReservationID: r1, Actual: 900},
		{TenantID: "t1", ProjectID: "p1", ReservationID: r1, Actual: -1},
		{TenantID: "t1", ProjectID: "p1", ReservationID: unknown, Actual: 5},
		{TenantID: "t1", ProjectID: "p1", ReservationID: r4, Actual: 300},
	}
	got, errsOut := f.svc.SettleCalls(ctx, operator, reqs)
	want := []budget.Settlement{
		{ReservationID: r1, Status: budget.StatusCommitted, Tokens: 900},
		{ReservationID: r2, Status: budget.StatusReleased, Tokens: 2000},
		{}, {},
		{ReservationID: r3, Status: budget.StatusCommitted, Tokens: 1000},
		{ReservationID: r1, Status: budget.StatusCommitted, Tokens: 900, Replayed: true},
		{}, {},
		{ReservationID: r4, Status: budget.StatusCommitted, Tokens: 300},
	}
	for _, i := range []int{0, 1, 4, 5, 8} {
		if errsOut[i] != nil {
			t.Errorf("call %d: %v", i, errsOut[i])
		}
	}
	wantCode(t, errsOut[2], errs.CodeNotFound)
	wantCode(t, errsOut[3], errs.CodeUnprocessable)
	wantCode(t, errsOut[6], errs.CodeConflict)
	wantCode(t, errsOut[7], errs.CodeNotFound)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("settlements (-want +got):\n%s", diff)
	}
	for _, w := range []budget.State{
		{TenantID: "t1", ProjectID: "p1", Total: 100_000, Used: 1200, Available: 98_800},
		{TenantID: "t1", ProjectID: "p2", Total: 100_000, Available: 100_000},
		{TenantID: "t1", ProjectID: "p3", Total: 100_000, Used: 1000, Available: 99_000},
	} {
		if diff := cmp.Diff(w, f.state(t, w.TenantID, w.ProjectID)); diff != "" {
			t.Errorf("state of %s (-want +got):\n%s", w.ProjectID, diff)
		}
	}
	if n := f.count(t, &models.AuditEntry{}, "action IN ?", []string{budget.ActionCommit, budget.ActionRelease}); n != 4 {
		t.Errorf("settlement audit entries = %d, want 4", n)
	}
	if n := f.count(t, &models.BudgetTransaction{}, "kind IN ?", []string{"commit", "release"}); n != 4 {
		t.Errorf("settlement ledger rows = %d, want 4", n)
	}
}

// Two replicas on one database serve batches over the same budgets (some of
// them new to both) queued in opposite orders, then settle the same
// reservations in opposite orders (one commits, the other releases), then
// hammer the budgets in opposite orders: nothing deadlocks (a deadlock would
// fail a transaction, and with it every call of its batch), every
// reservation is settled once, and the ledger reconciles (checked by the
// fixture).
func TestReplicasOppositeOrders(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.svc, f.replica(t)
	var keys []string
	for i := range 8 {
		p := fmt.Sprintf("q%d", i)
		if _, err := f.svc.SetLimit(ctx, admin, "t1", p, budget.MaxLimit); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, p)
	}
	for i := range 4 {
		keys = append(keys, fmt.Sprintf("n%d", i)) // created by the first batch that approves on it
	}
	reversed := slices.Clone(keys)
	slices.Reverse(reversed)
	request := func(svc *budget.Service, project string, n int) (budget.Approval, error) {
		in := req(10)
		in.ProjectID, in.TaskID = project, fmt.Sprintf("task-%d", n)
		return svc.Request(ctx, operator, in)
	}

	// Requests queued in opposite orders on the two replicas, released together.
	qa, releaseA := a.Hold()
	qb, releaseB := b.Hold()
	reservesA := func() int { n, _ := qa(); return n }
	reservesB := func() int { n, _ := qb(); return n }
	var chans []<-chan answer[budget.Approval]
	for i := range keys {
		chans = append(chans,
			queue(t, reservesA, func() (budget.Approval, error) { return request(a, keys[i], i) }),
			queue(t, reservesB, func() (budget.Approval, error) { return request(b, reversed[i], 100+i) }))
	}
	releaseA()
	releaseB()
	var ids []string
	for _, ch := range chans {
		got := wait(t, ch)
		if got.err != nil {
			t.Fatalf("request: %v", got.err)
		}
		ids = append(ids, got.out.ReservationID)
	}

	// The same reservations settled on both replicas in opposite orders.
	projectOf := map[string]string{}
	for _, id := range ids {
		projectOf[id] = f.reservation(t, id).ProjectID
	}
	slices.Sort(ids)
	qa, releaseA = a.Hold()
	qb, releaseB = b.Hold()
	settlesA := func() int { _, n := qa(); return n }
	settlesB := func() int { _, n := qb(); return n }
	var commits, releases []<-chan answer[budget.Settlement]
	for i := range ids {
		id, rid := ids[i], ids[len(ids)-1-i]
		commits = append(commits, queue(t, settlesA, func() (budget.Settlement, error) {
			return a.Commit(ctx, operator, budget.CommitInput{TenantID: "t1", ProjectID: projectOf[id], ReservationID: id, ActualTokens: 7})
		}))
		releases = append(releases, queue(t, settlesB, func() (budget.Settlement, error) {
			return b.Release(ctx, operator, budget.ReleaseInput{TenantID: "t1", ProjectID: projectOf[rid], ReservationID: rid})
		}))
	}
	releaseA()
	releaseB()
	won := map[string]int{}
	for _, group := range [][]<-chan answer[budget.Settlement]{commits, releases} {
		for _, ch := range group {
			got := wait(t, ch)
			switch {
			case got.err == nil:
				won[got.out.ReservationID]++
			case !errs.Is(got.err, errs.CodeConflict):
				t.Fatalf("settle: %v", got.err)
			}
		}
	}
	for _, id := range ids {
		if won[id] != 1 {
			t.Errorf("reservation %s settled by %d calls, want exactly 1", id, won[id])
		}
	}

	// Free-running cycles, each replica walking the budgets in its own order.
	const workers, cycles = 6, 15
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []error
	)
	for w := range 2 * workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc, other, order := a, b, keys
			if w%2 == 1 {
				svc, other, order = b, a, reversed
			}
			for c := range cycles {
				project := order[(w+c)%len(order)]
				got, err := request(svc, project, 1000+w*cycles+c)
				if err == nil {
					_, err = other.Commit(ctx, operator, budget.CommitInput{TenantID: "t1", ProjectID: project, ReservationID: got.ReservationID, ActualTokens: 5})
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d workers failed, first: %v", len(failures), errors.Join(failures...))
	}
	if n := f.count(t, &models.BudgetReservation{}, "status = ?", "pending"); n != 0 {
		t.Errorf("%d reservations still pending", n)
	}
}
