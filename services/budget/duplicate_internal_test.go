package budget

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/internal/dbtest"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/tenants"
)

// TestDuplicateKeyRollsBack drives the path of the loser of a race between
// retries deterministically (the race itself rarely happens, and never on
// SQLite, where writers are serialised): the second insert under the same key is a
// typed duplicate-key error, its transaction leaves nothing behind, and
// Request answers with the stored reservation.
func TestDuplicateKeyRollsBack(t *testing.T) {
	ctx := context.Background()
	db := dbtest.New(t)
	s, err := New(db.DB, audit.New(db.DB), Options{
		DefaultLimit: 1000, Registerer: prometheus.NewRegistry(), Tenants: tenants.New(db.DB, audit.New(db.DB)),
	})
	if err != nil {
		t.Fatal(err)
	}
	in := RequestInput{TenantID: "t", ProjectID: "p", TaskID: "x", Model: "m", EstimatedTokens: 100, IdempotencyKey: "k"}
	first, err := s.reserve(ctx, audit.Actor{}, in, in.hash())
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.reserve(ctx, audit.Actor{}, in, in.hash())
	if !errors.Is(err, gorm.ErrDuplicatedKey) {
		t.Fatalf("second reserve under the same key: %v, want gorm.ErrDuplicatedKey", err)
	}
	st, err := s.State(ctx, "t", "p")
	if err != nil {
		t.Fatal(err)
	}
	if st.Reserved != 100 {
		t.Errorf("reserved = %d, want 100 (the loser's reservation rolled back)", st.Reserved)
	}
	var ledgerRows int64
	db.DB.Table("budget_transactions").Count(&ledgerRows)
	if ledgerRows != 1 {
		t.Errorf("ledger rows = %d, want 1", ledgerRows)
	}
	a, err := s.Request(ctx, audit.Actor{}, in)
	if err != nil || a.ReservationID != first.ReservationID || !a.Replayed {
		t.Errorf("Request = %+v, %v; want the stored reservation replayed", a, err)
	}
	if m, err := Reconcile(ctx, db.DB); err != nil || len(m) != 0 {
		t.Errorf("Reconcile = %v, %v", m, err)
	}
}
