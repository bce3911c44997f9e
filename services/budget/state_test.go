package budget_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/budget"
)

func TestStateOfUnknownBudget(t *testing.T) {
	f := newFixture(t)
	want := budget.State{TenantID: "never", ProjectID: "seen", Total: 100_000, Available: 100_000}
	if diff := cmp.Diff(want, f.state(t, "never", "seen")); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
	if got := f.count(t, &models.BudgetLimit{}, "1 = 1"); got != 0 {
		t.Errorf("limit rows = %d, want 0 (reading creates nothing)", got)
	}
}

func TestSetLimit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	s, err := f.svc.SetLimit(ctx, admin, "t1", "p1", 5000)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(budget.State{TenantID: "t1", ProjectID: "p1", Total: 5000, Available: 5000}, s); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	id := f.request(t, req(3000)).ReservationID
	if _, err := f.svc.Commit(ctx, operator, budget.CommitInput{TenantID: "t1", ProjectID: "p1", ReservationID: id, ActualTokens: 1000}); err != nil {
		t.Fatal(err)
	}
	f.request(t, req(2000))

	// Lower below used + reserved (3000): allowed, reported as overdrawn.
	s, err = f.svc.SetLimit(ctx, admin, "t1", "p1", 2500)
	if err != nil {
		t.Fatal(err)
	}
	want := budget.State{TenantID: "t1", ProjectID: "p1", Total: 2500, Used: 1000, Reserved: 2000, Overdrawn: 500, PendingReservations: 1}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("lowered (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, f.state(t, "t1", "p1")); diff != "" {
		t.Errorf("state after lowering (-want +got):\n%s", diff)
	}

	var entries []models.AuditEntry
	f.db.Where("action = ?", budget.ActionLimitSet).Order("id").Find(&entries)
	if len(entries) != 2 {
		t.Fatalf("limit_set audit entries = %d, want 2", len(entries))
	}
	wantDetails := []models.JSONMap{
		{"tenant_id": "t1", "project_id": "p1", "total_limit": float64(5000), "created": true, "old_total_limit": nil},
		{"tenant_id": "t1", "project_id": "p1", "total_limit": float64(2500), "created": false, "old_total_limit": float64(5000),
			"used": float64(1000), "reserved": float64(2000)},
	}
	for i, e := range entries {
		if diff := cmp.Diff(wantDetails[i], e.Details); diff != "" {
			t.Errorf("audit details %d (-want +got):\n%s", i, diff)
		}
		if e.ResourceID != "t1/p1" || e.UserID != "u-admin" {
			t.Errorf("audit entry %d = %+v", i, e)
		}
	}
	if got := f.count(t, &models.BudgetTransaction{}, "kind = 'limit_set' AND delta_reserved = 0 AND delta_used = 0"); got != 2 {
		t.Errorf("limit_set ledger rows = %d, want 2", got)
	}
}
