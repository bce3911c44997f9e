package budget

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/internal/dbtest"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/tenants"
)

// racingTenants creates the budget t/p with a limit of 500 the first time a
// batch creates a tenant, as a concurrent transaction would between the
// batch's read of its budgets and its insert of the new ones. On PostgreSQL
// it commits that budget on its own connection; SQLite has one writer, so
// there it writes inside the batch's transaction (rolled back with it).
type racingTenants struct {
	tenants.Service
	db    *gorm.DB
	calls int
}

func (r *racingTenants) Ensure(ctx context.Context, tx *gorm.DB, actor audit.Actor, id string) error {
	r.calls++
	if err := r.Service.Ensure(ctx, tx, actor, id); err != nil {
		return err
	}
	if r.calls > 1 {
		return nil
	}
	on := tx
	if r.db.Name() == "postgres" {
		on = r.db.WithContext(ctx) // the tenant exists already (see the test)
	}
	return on.Create(&models.BudgetLimit{TenantID: id, ProjectID: "p", TotalLimit: 500, UpdatedAt: time.Now()}).Error
}

// A new budget that appears between the batch's lock and its insert fails
// that attempt (errBudgetCreated), and the batch runs again with the budget
// locked in order like any other: on PostgreSQL it then decides on the
// budget as the other transaction left it.
func TestBudgetCreatedMeanwhile(t *testing.T) {
	ctx := context.Background()
	db := dbtest.New(t).DB
	racing := &racingTenants{Service: *tenants.New(db, audit.New(db)), db: db}
	if db.Name() == "postgres" {
		// Committed first, so the other transaction's budget does not wait
		// for the batch's uncommitted tenant.
		if err := racing.Service.Ensure(ctx, db, audit.Actor{}, "t"); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(db, audit.New(db), Options{DefaultLimit: 1000, Registerer: prometheus.NewRegistry(), Tenants: racing})
	if err != nil {
		t.Fatal(err)
	}
	in := RequestInput{TenantID: "t", ProjectID: "p", TaskID: "x", Model: "m", EstimatedTokens: 700}
	a, err := s.Request(ctx, audit.Actor{}, in)
	wantLimit, wantReserved := int64(1000), int64(700)
	if db.Name() == "postgres" {
		// The other transaction's budget has 500: 700 does not fit.
		wantLimit, wantReserved = 500, 0
		wantInsufficientIn(t, err)
	} else if err != nil || a.ReservationID == "" {
		t.Errorf("Request = %+v, %v; want approved on the default budget", a, err)
	}
	// SQLite: the second run creates the budget again, so it ensures the
	// tenant again; PostgreSQL: the second run finds the budget and refuses.
	if wantCalls := map[bool]int{true: 1, false: 2}[db.Name() == "postgres"]; racing.calls != wantCalls {
		t.Errorf("tenant ensured %d times, want %d (the batch run again after the race)", racing.calls, wantCalls)
	}
	st, err := s.State(ctx, "t", "p")
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != wantLimit || st.Reserved != wantReserved {
		t.Errorf("state = %+v, want total %d, reserved %d", st, wantLimit, wantReserved)
	}
	if m, err := Reconcile(ctx, db); err != nil || len(m) != 0 {
		t.Errorf("Reconcile = %v, %v", m, err)
	}
}

func wantInsufficientIn(t *testing.T, err error) {
	t.Helper()
	if !errs.Is(err, errs.CodeBudgetInsufficient) {
		t.Errorf("Request: %v, want budget.insufficient on the 500 budget created meanwhile", err)
	}
}
