package budget_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/budget"
	"github.com/golden-architecture/control-plane/services/errs"
)

// mark is what the tests' Also hooks write: an audit entry naming the
// reservation, so the test can see which hooks' writes were kept.
func mark(tx *gorm.DB, reservationID string) error {
	return tx.Create(&models.AuditEntry{Action: "test.also", ResourceType: "test", ResourceID: reservationID}).Error
}

// A request's Also hook writes in the reservation's transaction: its row
// exists exactly when the reservation does. A failing hook fails the request
// and stores nothing; a refused request does not run it.
func TestRequestAlso(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	in := req(1000)
	in.Also = mark
	a := f.request(t, in)
	if n := f.count(t, &models.AuditEntry{}, "action = ? AND resource_id = ?", "test.also", a.ReservationID); n != 1 {
		t.Errorf("hook rows for the approved reservation = %d, want 1", n)
	}

	boom := errors.New("boom")
	in.Also = func(tx *gorm.DB, id string) error {
		if err := mark(tx, id); err != nil {
			return err
		}
		return boom
	}
	if _, err := f.svc.Request(ctx, operator, in); !errors.Is(err, boom) {
		t.Fatalf("Request with a failing hook: %v, want the hook's error", err)
	}
	refused := req(1_000_000)
	ran := false
	refused.Also = func(*gorm.DB, string) error { ran = true; return nil }
	if _, err := f.svc.Request(ctx, operator, refused); err == nil || ran {
		t.Errorf("refused request: %v, hook ran %v; want budget.insufficient and no hook", err, ran)
	}
	if s := f.state(t, "t1", "p1"); s.Reserved != 1000 || s.PendingReservations != 1 {
		t.Errorf("state = %+v, want only the first reservation", s)
	}
	if n := f.count(t, &models.AuditEntry{}, "action = ?", "test.also"); n != 1 {
		t.Errorf("hook rows = %d, want 1 (the failed request's was rolled back)", n)
	}
}

// A hook that fails on a unique key fails only its own call: the batch is
// served again call by call, and the others are approved with their hooks'
// rows.
func TestReserveBatchAlsoDuplicate(t *testing.T) {
	f := newFixture(t)
	first, dup, third := req(100), req(200), req(300)
	first.Also, third.Also = mark, mark
	dup.Also = func(*gorm.DB, string) error { return gorm.ErrDuplicatedKey }
	approved, errsOut := f.svc.ReserveBatch(context.Background(), operator, []budget.RequestInput{first, dup, third})
	if errsOut[0] != nil || errsOut[2] != nil || !errors.Is(errsOut[1], gorm.ErrDuplicatedKey) {
		t.Fatalf("errors = %v; want approved, duplicate, approved", errsOut)
	}
	for _, i := range []int{0, 2} {
		if n := f.count(t, &models.AuditEntry{}, "action = ? AND resource_id = ?", "test.also", approved[i].ReservationID); n != 1 {
			t.Errorf("hook rows of request %d = %d, want 1", i, n)
		}
	}
	if s := f.state(t, "t1", "p1"); s.Reserved != 400 || s.PendingReservations != 2 {
		t.Errorf("state = %+v, want 400 reserved by 2 reservations", s)
	}
}

// callRow is a request's Row: a gateway call row naming its reservation,
// under key (nil for none).
func callRow(key *string) func(string) any {
	return func(reservationID string) any {
		id := uuid.NewString()
		return &models.LLMCall{ID: id, TenantID: "t1", ProjectID: "p1", PrincipalID: operator.PrincipalID, IdempotencyKey: key,
			RequestHash: "h", Model: "m", Provider: "openai", Status: "pending", ReservationID: &reservationID, CreatedAt: time.Now().UTC()}
	}
}

// The Rows of a batch's approved requests are stored with their
// reservations in one INSERT; a refused request's Row is not called. A row
// that collides on a unique key fails only its own request: the batch is
// served again call by call.
func TestReserveBatchRows(t *testing.T) {
	f := newFixture(t)
	var inserts atomic.Int64
	if err := f.db.Callback().Create().Before("gorm:create").Register("test:count_calls", func(d *gorm.DB) {
		if d.Statement.Table == "llm_calls" {
			inserts.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	ins := []budget.RequestInput{req(100), req(1_000_000), req(200), req(300)}
	for i := range ins {
		ins[i].Row = callRow(nil)
	}
	approved, errsOut := f.svc.ReserveBatch(context.Background(), operator, ins)
	if errsOut[0] != nil || errsOut[2] != nil || errsOut[3] != nil || !errs.Is(errsOut[1], errs.CodeBudgetInsufficient) {
		t.Fatalf("errors = %v; want approved, refused, approved, approved", errsOut)
	}
	if n := inserts.Load(); n != 1 {
		t.Errorf("INSERTs into llm_calls = %d, want 1 for the batch", n)
	}
	for _, i := range []int{0, 2, 3} {
		if n := f.count(t, &models.LLMCall{}, "reservation_id = ?", approved[i].ReservationID); n != 1 {
			t.Errorf("rows of request %d = %d, want 1", i, n)
		}
	}
	if n := f.count(t, &models.LLMCall{}, "1 = 1"); n != 3 {
		t.Errorf("rows = %d, want 3 (none for the refused request)", n)
	}

	key := "same"
	first, dup, third := req(10), req(20), req(30)
	first.Row, dup.Row, third.Row = callRow(&key), callRow(&key), callRow(nil)
	approved, errsOut = f.svc.ReserveBatch(context.Background(), operator, []budget.RequestInput{first, dup, third})
	if errsOut[0] != nil || errsOut[2] != nil || !errors.Is(errsOut[1], gorm.ErrDuplicatedKey) {
		t.Fatalf("errors = %v; want approved, duplicate, approved", errsOut)
	}
	for _, i := range []int{0, 2} {
		if n := f.count(t, &models.LLMCall{}, "reservation_id = ?", approved[i].ReservationID); n != 1 {
			t.Errorf("rows of request %d = %d, want 1", i, n)
		}
	}
	if s := f.state(t, "t1", "p1"); s.Reserved != 640 || s.PendingReservations != 5 {
		t.Errorf("state = %+v, want 640 reserved by 5 reservations", s)
	}
}

// A commit's Usage is stored on its ledger row, and its Also hook runs in
// the commit's transaction only when this call moved the reservation: not on
// a replay. A failing hook leaves the reservation pending.
func TestCommitUsageAndAlso(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := f.request(t, req(1000)).ReservationID

	boom := errors.New("boom")
	commit := budget.CommitInput{TenantID: "t1", ProjectID: "p1", ReservationID: id, ActualTokens: 700,
		Also: func(*gorm.DB) error { return boom }}
	if _, err := f.svc.Commit(ctx, operator, commit); !errors.Is(err, boom) {
		t.Fatalf("Commit with a failing hook: %v, want the hook's error", err)
	}
	if r := f.reservation(t, id); r.Status != "pending" {
		t.Fatalf("after the failed commit the reservation is %s, want pending", r.Status)
	}

	runs := 0
	commit.Usage = &budget.Usage{Model: "gpt-4o", PromptTokens: 300, CompletionTokens: 400, CostUSD: 0.0123}
	commit.Also = func(tx *gorm.DB) error { runs++; return mark(tx, id) }
	if _, err := f.svc.Commit(ctx, operator, commit); err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.Commit(ctx, operator, commit)
	if err != nil || !again.Replayed {
		t.Fatalf("second commit = %+v, %v; want a replay", again, err)
	}
	if runs != 1 {
		t.Errorf("hook ran %d times, want 1", runs)
	}
	if n := f.count(t, &models.AuditEntry{}, "action = ? AND resource_id = ?", "test.also", id); n != 1 {
		t.Errorf("hook rows = %d, want 1", n)
	}
	var row models.BudgetTransaction
	if err := f.db.Where("reservation_id = ? AND kind = ?", id, "commit").Take(&row).Error; err != nil {
		t.Fatal(err)
	}
	if row.DeltaUsed != 700 || row.Model == nil || *row.Model != "gpt-4o" || *row.PromptTokens != 300 ||
		*row.CompletionTokens != 400 || *row.CostUSD != 0.0123 {
		t.Errorf("commit ledger row = %+v, want 700 used with the call's model, tokens and cost", row)
	}
	var reserve models.BudgetTransaction
	if err := f.db.Where("reservation_id = ? AND kind = ?", id, "reserve").Take(&reserve).Error; err != nil {
		t.Fatal(err)
	}
	if reserve.Model != nil || reserve.CostUSD != nil {
		t.Errorf("reserve ledger row = %+v, want no usage on it", reserve)
	}
}
