package budget_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/budget"
)

// A lone call's single statement (PostgreSQL) stores what the transaction
// path stores: the reservation, ledger rows and audit entries of a request,
// a commit (with its usage) and a release are the same, but for ids and
// times; and what it cannot decide alone it leaves untouched.
func TestLoneCallsStoreWhatBatchesStore(t *testing.T) {
	f := newFixture(t)
	if !f.svc.Alone() {
		t.Skip("lone calls are single statements on PostgreSQL only: set TEST_DATABASE_URL")
	}
	ctx := context.Background()
	noop := func(*gorm.DB, string) error { return nil }
	f.request(t, req(1)) // the budget exists: the statement does not create budgets

	in := req(1000)
	in.IdempotencyKey = "lone"
	alone, handled, err := f.svc.ReserveAlone(ctx, operator, in)
	if err != nil || !handled {
		t.Fatalf("ReserveAlone = %+v, handled %v, %v; want approved by the statement", alone, handled, err)
	}
	viaTx := in
	viaTx.IdempotencyKey, viaTx.Also = "batched", noop // Also keeps a call on the transaction path
	batched := f.request(t, viaTx)
	if alone.Allocated != 1000 || alone.ExpiresAt.IsZero() || alone.Available != 98_999 || batched.Available != 97_999 {
		t.Errorf("approvals = %+v, %+v; want 98 999 and 97 999 left", alone, batched)
	}
	sameRows(t, f, alone.ReservationID, batched.ReservationID)

	usage := &budget.Usage{Model: "gpt-4o", PromptTokens: 300, CompletionTokens: 400, CostUSD: 0.5}
	if s, handled, err := f.svc.SettleAlone(ctx, operator, "t1", "p1", alone.ReservationID, 700, usage); err != nil || !handled ||
		s != (budget.Settlement{ReservationID: alone.ReservationID, Status: budget.StatusCommitted, Tokens: 700}) {
		t.Fatalf("SettleAlone commit = %+v, handled %v, %v", s, handled, err)
	}
	if _, err := f.svc.Commit(ctx, operator, budget.CommitInput{TenantID: "t1", ProjectID: "p1", ReservationID: batched.ReservationID,
		ActualTokens: 700, Usage: usage, Also: func(*gorm.DB) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	sameRows(t, f, alone.ReservationID, batched.ReservationID)

	a, b := f.request(t, req(50)).ReservationID, f.request(t, req(50)).ReservationID
	if s, handled, err := f.svc.SettleAlone(ctx, operator, "t1", "p1", a, -1, nil); err != nil || !handled || s.Tokens != 50 {
		t.Fatalf("SettleAlone release = %+v, handled %v, %v", s, handled, err)
	}
	if _, errsOut := f.svc.SettleBatch(ctx, operator, "t1", "p1", []string{b, b}, []int64{-1, -1}); errsOut[0] != nil {
		t.Fatal(errsOut[0])
	}
	sameRows(t, f, a, b)

	// Left to the transaction, changing nothing: a settled reservation,
	// another budget's, a commit above the reservation's tokens, a budget
	// not created yet, a request the budget cannot cover.
	small := f.request(t, req(10)).ReservationID
	newBudget := req(10)
	newBudget.ProjectID = "new"
	for name, call := range map[string]func() (bool, error){
		"commit again": func() (bool, error) {
			_, h, err := f.svc.SettleAlone(ctx, operator, "t1", "p1", alone.ReservationID, 700, nil)
			return h, err
		},
		"other budget": func() (bool, error) {
			_, h, err := f.svc.SettleAlone(ctx, operator, "t1", "p2", small, 5, nil)
			return h, err
		},
		"above its tokens": func() (bool, error) {
			_, h, err := f.svc.SettleAlone(ctx, operator, "t1", "p1", small, 11, nil)
			return h, err
		},
		"new budget": func() (bool, error) {
			_, h, err := f.svc.ReserveAlone(ctx, operator, newBudget)
			return h, err
		},
		"too large": func() (bool, error) {
			_, h, err := f.svc.ReserveAlone(ctx, operator, req(1_000_000))
			return h, err
		},
	} {
		state, ledger, entries := f.state(t, "t1", "p1"), f.ledgerSize(t), f.count(t, &models.AuditEntry{}, "1 = 1")
		if handled, err := call(); handled || err != nil {
			t.Errorf("%s: handled %v, %v; want left to the transaction", name, handled, err)
		}
		if s := f.state(t, "t1", "p1"); s != state || f.ledgerSize(t) != ledger || f.count(t, &models.AuditEntry{}, "1 = 1") != entries {
			t.Errorf("%s: the statement changed the budget (%+v -> %+v), the ledger or the audit log", name, state, s)
		}
	}
	if n := f.count(t, &models.BudgetLimit{}, "project_id = ?", "new"); n != 0 {
		t.Errorf("the statement created %d budgets", n)
	}
}

func (f *fixture) ledgerSize(t *testing.T) int64 {
	t.Helper()
	return f.count(t, &models.BudgetTransaction{}, "1 = 1")
}

// sameRows compares what is stored for two reservations: the reservation,
// its ledger rows and its audit entries, ids, times and idempotency keys
// aside.
func sameRows(t *testing.T, f *fixture, a, b string) {
	t.Helper()
	type reservation struct {
		TaskID, Model, Purpose, Status, CreatedBy string
		Tokens                                    int64
		Actual                                    *int64
		Principal                                 *string
		TTL                                       time.Duration
	}
	view := func(id string) reservation {
		r := f.reservation(t, id)
		return reservation{r.TaskID, r.Model, r.Purpose, r.Status, r.CreatedBy, r.Tokens, r.ActualTokens, r.PrincipalID, r.ExpiresAt.Sub(r.CreatedAt)}
	}
	if diff := cmp.Diff(view(a), view(b)); diff != "" {
		t.Errorf("reservations (-statement +transaction):\n%s", diff)
	}
	ledger := func(id string) []models.BudgetTransaction {
		var rows []models.BudgetTransaction
		if err := f.db.Where("reservation_id = ?", id).Order("id").Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		for i := range rows {
			rows[i].ID, rows[i].ReservationID, rows[i].At = 0, nil, time.Time{}
		}
		return rows
	}
	if diff := cmp.Diff(ledger(a), ledger(b)); diff != "" {
		t.Errorf("ledger rows (-statement +transaction):\n%s", diff)
	}
	entries := func(id string) []models.AuditEntry {
		var rows []models.AuditEntry
		if err := f.db.Where("resource_id = ?", id).Order("id").Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		for i := range rows {
			rows[i].ID, rows[i].ResourceID, rows[i].CreatedAt = 0, "", time.Time{}
			delete(rows[i].Details, "idempotency_key")
		}
		return rows
	}
	if ea, eb := entries(a), entries(b); len(ea) == 0 || !cmp.Equal(ea, eb) {
		t.Errorf("audit entries (-statement +transaction):\n%s", cmp.Diff(ea, eb))
	}
}
