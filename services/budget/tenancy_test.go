package budget_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/budget"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/tenants"
)

// TestCommitCap: a commit may use up to the reservation's tokens ×
// CommitMaxRatio; more is a 422 naming the cap, and changes nothing.
func TestCommitCap(t *testing.T) {
	for _, tt := range []struct {
		name    string
		ratio   float64 // 0: the default
		tokens  int64
		maxOK   int64
		details map[string]any
	}{
		{name: "default ratio 2", tokens: 100, maxOK: 200},
		{name: "ratio 1.5 rounds down", ratio: 1.5, tokens: 101, maxOK: 151},
		{name: "ratio 1 allows the estimate", ratio: 1, tokens: 7, maxOK: 7},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			svc := f.svc
			if tt.ratio != 0 {
				var err error
				svc, err = budget.New(f.db, audit.New(f.db), budget.Options{
					DefaultLimit: 100_000, Now: f.clock.Now, Registerer: prometheus.NewRegistry(),
					Tenants: tenants.New(f.db, audit.New(f.db)), CommitMaxRatio: tt.ratio,
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			id := f.request(t, req(tt.tokens)).ReservationID
			commit := func(actual int64) (budget.Settlement, error) {
				return svc.Commit(ctx, operator, budget.CommitInput{TenantID: "t1", ProjectID: "p1", ReservationID: id, ActualTokens: actual})
			}
			_, err := commit(tt.maxOK + 1)
			var e *errs.Error
			if !errs.Is(err, errs.CodeUnprocessable) || !errors.As(err, &e) {
				t.Fatalf("commit of %d = %v, want 422", tt.maxOK+1, err)
			}
			ratio := tt.ratio
			if ratio == 0 {
				ratio = budget.DefaultCommitMaxRatio
			}
			for k, want := range map[string]any{"estimated_tokens": tt.tokens, "max_actual_tokens": tt.maxOK, "commit_max_ratio": ratio} {
				if e.Details[k] != want {
					t.Errorf("details.%s = %v, want %v", k, e.Details[k], want)
				}
			}
			if fields := fieldsOf(err); len(fields) != 1 || fields[0] != "actual_tokens" {
				t.Errorf("failed fields = %v, want [actual_tokens]", fields)
			}
			if r := f.reservation(t, id); r.Status != string(budget.StatusPending) {
				t.Errorf("reservation after a refused commit = %s, want pending", r.Status)
			}
			if st := f.state(t, "t1", "p1"); st.Used != 0 || st.Reserved != tt.tokens {
				t.Errorf("state after a refused commit: used %d reserved %d", st.Used, st.Reserved)
			}
			if _, err := commit(tt.maxOK); err != nil {
				t.Fatalf("commit of the cap %d: %v", tt.maxOK, err)
			}
			if st := f.state(t, "t1", "p1"); st.Used != tt.maxOK || st.Reserved != 0 {
				t.Errorf("state after the commit: used %d reserved %d, want %d, 0", st.Used, st.Reserved, tt.maxOK)
			}
		})
	}
	if _, err := budget.New(newFixture(t).db, audit.New(nil), budget.Options{
		Registerer: prometheus.NewRegistry(), Tenants: tenants.New(nil, nil), CommitMaxRatio: 0.5,
	}); err == nil {
		t.Error("a commit ratio below 1 was accepted")
	}
}

// TestIdempotencyKeysArePerPrincipal: the same key from two principals on one
// budget makes two reservations; each principal's retry replays its own, a
// different body is a conflict only for the principal that used the key, and
// the listing shows each key as it was sent, with its principal.
func TestIdempotencyKeysArePerPrincipal(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other := audit.Actor{PrincipalID: "user:u-other", UserID: "u-other", Username: "other", Role: "operator", TenantID: "t1"}
	in := req(100)
	in.IdempotencyKey = "shared-key"
	mine, err := f.svc.Request(ctx, operator, in)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := f.svc.Request(ctx, other, in)
	if err != nil {
		t.Fatalf("the same key from another principal: %v", err)
	}
	if theirs.ReservationID == mine.ReservationID || theirs.Replayed {
		t.Fatalf("another principal's key replayed %+v (first %+v)", theirs, mine)
	}
	for _, c := range []struct {
		actor audit.Actor
		want  string
	}{{operator, mine.ReservationID}, {other, theirs.ReservationID}} {
		a, err := f.svc.Request(ctx, c.actor, in)
		if err != nil || !a.Replayed || a.ReservationID != c.want {
			t.Errorf("retry of %s = %+v, %v; want its own %s replayed", c.actor.PrincipalID, a, err, c.want)
		}
	}
	changed := in
	changed.EstimatedTokens = 5
	if _, err := f.svc.Request(ctx, other, changed); !errs.Is(err, errs.CodeIdempotencyClash) {
		t.Errorf("other body under a used key = %v, want idempotency.conflict", err)
	}
	third := audit.Actor{PrincipalID: "user:u-third", Username: "third", TenantID: "t1"}
	if a, err := f.svc.Request(ctx, third, changed); err != nil || a.Replayed {
		t.Errorf("a third principal's first use of the key = %+v, %v; want a new reservation", a, err)
	}
	if st := f.state(t, "t1", "p1"); st.Reserved != 205 || st.PendingReservations != 3 {
		t.Errorf("state = %+v, want 205 reserved in 3 reservations", st)
	}

	stored := f.reservation(t, mine.ReservationID)
	if stored.IdempotencyKey == nil || *stored.IdempotencyKey != "user:u-op|shared-key" || stored.PrincipalID == nil || *stored.PrincipalID != "user:u-op" {
		t.Errorf("stored key %v principal %v, want the key scoped by user:u-op", deref(stored.IdempotencyKey), deref(stored.PrincipalID))
	}
	page, err := f.svc.List(ctx, budget.ListFilter{TenantID: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range page.Items {
		got[r.PrincipalID] = deref(r.IdempotencyKey)
	}
	want := map[string]string{"user:u-op": "shared-key", "user:u-other": "shared-key", "user:u-third": "shared-key"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listed keys by principal (-want +got):\n%s", diff)
	}
}

// TestBudgetCreatesItsTenant: the first reservation or limit of a tenant
// creates the tenant in the same transaction, audited once; later ones and
// refused requests create nothing.
func TestBudgetCreatesItsTenant(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tenantsNamed := func(id string) int64 { return f.count(t, &models.Tenant{}, "id = ?", id) }
	createAudits := func(id string) int64 {
		return f.count(t, &models.AuditEntry{}, "action = ? AND resource_id = ?", tenants.ActionCreate, id)
	}

	f.request(t, req(10))
	f.request(t, budget.RequestInput{TenantID: "t1", ProjectID: "p2", TaskID: "x", Model: "m", EstimatedTokens: 1})
	if tenantsNamed("t1") != 1 || createAudits("t1") != 1 {
		t.Errorf("tenant t1 rows %d, tenant.create entries %d; want 1 and 1", tenantsNamed("t1"), createAudits("t1"))
	}
	if _, err := f.svc.SetLimit(ctx, admin, "t2", "p1", 0); err != nil {
		t.Fatal(err)
	}
	if tenantsNamed("t2") != 1 || createAudits("t2") != 1 {
		t.Errorf("tenant t2 rows %d, tenant.create entries %d; want 1 and 1", tenantsNamed("t2"), createAudits("t2"))
	}
	var e models.AuditEntry
	if err := f.db.Where("action = ? AND resource_id = ?", tenants.ActionCreate, "t2").Take(&e).Error; err != nil {
		t.Fatal(err)
	}
	if e.PrincipalID != admin.PrincipalID || e.Details["on_first_use"] != true {
		t.Errorf("tenant.create entry = %+v", e)
	}
	if _, err := f.svc.Request(ctx, operator, budget.RequestInput{TenantID: "t3", ProjectID: "p1", TaskID: "x", Model: "m", EstimatedTokens: 200_000}); !errs.Is(err, errs.CodeBudgetInsufficient) {
		t.Fatalf("request above the default limit = %v", err)
	}
	if tenantsNamed("t3") != 0 {
		t.Error("a refused first request left its tenant behind")
	}
}

// fieldsOf lists the fields of a validation error.
func fieldsOf(err error) []string {
	var e *errs.Error
	if !errors.As(err, &e) {
		return nil
	}
	fs, _ := e.Details["errors"].([]errs.FieldError)
	var out []string
	for _, f := range fs {
		out = append(out, f.Field)
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
