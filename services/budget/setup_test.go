package budget_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/internal/dbtest"
	"github.com/golden-architecture/control-plane/internal/metrictest"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/budget"
	"github.com/golden-architecture/control-plane/services/tenants"
)

// clock is a settable time source for the service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Microsecond)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a budget service on the database of a fresh test environment.
type fixture struct {
	svc   *budget.Service
	db    *gorm.DB
	reg   *prometheus.Registry
	clock *clock
}

var (
	admin    = audit.Actor{PrincipalID: "user:u-admin", UserID: "u-admin", Username: "admin", Role: "admin", RequestID: "req-test"}
	operator = audit.Actor{PrincipalID: "user:u-op", UserID: "u-op", Username: "operator", Role: "operator", TenantID: "t1", RequestID: "req-op"}
)

// newFixture builds the service on a database of its own (SQLite, or a
// fresh PostgreSQL database with TEST_DATABASE_URL). Only the test's clock
// expires reservations. After the test the counters are checked against the
// ledger and the reservations.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	db := dbtest.New(t).DB
	f := &fixture{db: db, reg: prometheus.NewRegistry(), clock: newClock()}
	f.svc = f.newService(t, f.reg)
	checkLedger(t, db)
	return f
}

// newService is another instance on the same database (another replica).
func (f *fixture) newService(t testing.TB, reg prometheus.Registerer) *budget.Service {
	t.Helper()
	svc, err := budget.New(f.db, audit.New(f.db), budget.Options{
		DefaultLimit: 100_000, ReservationTTL: time.Hour, Now: f.clock.Now, Registerer: reg,
		Tenants: tenants.New(f.db, audit.New(f.db)),
	})
	if err != nil {
		t.Fatalf("budget.New: %v", err)
	}
	return svc
}

// checkLedger registers the invariant check of DESIGN §5 to run after the
// test: every budget's used and reserved equal the sums of its ledger and of
// its reservations.
func checkLedger(t testing.TB, db *gorm.DB) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		mismatches, err := budget.Reconcile(ctx, db)
		if err != nil {
			t.Errorf("reconcile: %v", err)
			return
		}
		for _, m := range mismatches {
			t.Errorf("budget counters disagree: %s", m)
		}
	})
}

func (f *fixture) request(t testing.TB, in budget.RequestInput) budget.Approval {
	t.Helper()
	a, err := f.svc.Request(context.Background(), operator, in)
	if err != nil {
		t.Fatalf("Request(%+v): %v", in, err)
	}
	return a
}

func (f *fixture) state(t testing.TB, tenant, project string) budget.State {
	t.Helper()
	s, err := f.svc.State(context.Background(), tenant, project)
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	return s
}

func (f *fixture) reservation(t testing.TB, id string) models.BudgetReservation {
	t.Helper()
	var r models.BudgetReservation
	if err := f.db.Where("id = ?", id).Take(&r).Error; err != nil {
		t.Fatalf("read reservation %s: %v", id, err)
	}
	return r
}

func (f *fixture) count(t testing.TB, model any, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := f.db.Model(model).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

// counter reads a counter of the fixture's registry (0 when absent).
func (f *fixture) counter(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	return metrictest.Value(t, f.reg, name, labels)
}

// req is a valid request input for tenant t1/project p1.
func req(tokens int64) budget.RequestInput {
	return budget.RequestInput{TenantID: "t1", ProjectID: "p1", TaskID: "task-1", Model: "gpt-4o", EstimatedTokens: tokens}
}

// replica is a second service instance on the same database, with metrics of
// its own: what another replica of the API runs.
func (f *fixture) replica(t testing.TB) *budget.Service {
	t.Helper()
	return f.newService(t, prometheus.NewRegistry())
}
