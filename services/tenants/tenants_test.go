package tenants_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/internal/dbtest"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/tenants"
)

var admin = audit.Actor{PrincipalID: "user:u-admin", UserID: "u-admin", Username: "admin", Role: "admin", RequestID: "req-1"}

func newService(t *testing.T) (*tenants.Service, *gorm.DB) {
	t.Helper()
	db := dbtest.New(t).DB
	return tenants.New(db, audit.New(db)), db
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"acme": true, "a": true, "0": true, "team-7_b": true, strings.Repeat("a", 64): true,
		"": false, strings.Repeat("a", 65): false, "Acme": false, "-acme": false, "_acme": false,
		"acme corp": false, "a.b": false, "a/b": false, "a*": false, "ä": false,
	} {
		if got := tenants.ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}

// TestResolve is the tenant access rule of DESIGN §7, for every kind of
// principal and every kind of named tenant.
func TestResolve(t *testing.T) {
	svc, db := newService(t)
	ctx := context.Background()
	now := time.Now().UTC()
	// A tenant id of the time before tenants, not a slug.
	if err := db.Create(&models.Tenant{ID: "Legacy Team", Name: "Legacy Team", CreatedAt: now, UpdatedAt: now}).Error; err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, own, named string
		list             bool
		want             string
		code             errs.Code
	}{
		{name: "bound, names none", own: "acme", want: "acme"},
		{name: "bound, names its own", own: "acme", named: "acme", want: "acme"},
		{name: "bound, names another", own: "acme", named: "globex", code: errs.CodeNotFound},
		{name: "bound, names one that does not exist", own: "acme", named: "nowhere", code: errs.CodeNotFound},
		{name: "bound, names a malformed one", own: "acme", named: "Not A Slug", code: errs.CodeNotFound},
		{name: "bound, lists its own", own: "acme", list: true, want: "acme"},
		{name: "bound, lists another", own: "acme", named: "globex", list: true, code: errs.CodeNotFound},
		{name: "platform, names any slug", named: "globex", want: "globex"},
		{name: "platform, names an existing non-slug", named: "Legacy Team", want: "Legacy Team"},
		{name: "platform, names a new non-slug", named: "New Team", code: errs.CodeUnprocessable},
		{name: "platform, names none", code: errs.CodeUnprocessable},
		{name: "platform, lists every tenant", list: true, want: ""},
		{name: "platform, lists one", named: "globex", list: true, want: "globex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resolve := svc.Resolve
			if tt.list {
				resolve = svc.ResolveFilter
			}
			got, err := resolve(ctx, tt.own, tt.named)
			if tt.code != "" {
				if !errs.Is(err, tt.code) || got != "" {
					t.Fatalf("= %q, %v; want %s", got, err, tt.code)
				}
				if tt.code == errs.CodeNotFound && !strings.Contains(err.Error(), `tenant "`+tt.named+`" not found`) {
					t.Errorf("message %q does not name the tenant the caller named", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestCreateGetUpdateList(t *testing.T) {
	svc, db := newService(t)
	ctx := context.Background()
	created, err := svc.Create(ctx, admin, tenants.CreateInput{ID: "acme", Name: "  Acme Corp "})
	if err != nil {
		t.Fatal(err)
	}
	if created.ID != "acme" || created.Name != "Acme Corp" || created.CreatedAt.IsZero() || !created.CreatedAt.Equal(created.UpdatedAt) {
		t.Errorf("created = %+v", created)
	}
	if got, err := svc.Get(ctx, "acme"); err != nil || !cmp.Equal(got, created) {
		t.Errorf("Get = %+v, %v; want %+v", got, err, created)
	}
	if _, err := svc.Create(ctx, admin, tenants.CreateInput{ID: "acme"}); !errs.Is(err, errs.CodeConflict) {
		t.Errorf("second create = %v, want state.conflict", err)
	}
	noName, err := svc.Create(ctx, admin, tenants.CreateInput{ID: "globex"})
	if err != nil || noName.Name != "globex" {
		t.Errorf("create without a name = %+v, %v; want the id as name", noName, err)
	}
	for _, in := range []tenants.CreateInput{{ID: "Acme2"}, {ID: ""}, {ID: "ok", Name: strings.Repeat("n", 201)}, {ID: "ok", Name: "a\nb"}} {
		if _, err := svc.Create(ctx, admin, in); !errs.Is(err, errs.CodeUnprocessable) {
			t.Errorf("Create(%+v) = %v, want 422", in, err)
		}
	}
	if _, err := svc.Get(ctx, "nowhere"); !errs.Is(err, errs.CodeNotFound) {
		t.Errorf("Get of an unknown tenant = %v, want resource.not_found", err)
	}

	name := "Acme Corporation"
	updated, err := svc.Update(ctx, admin, "acme", tenants.UpdateInput{Name: &name})
	if err != nil || updated.Name != name || !updated.CreatedAt.Equal(created.CreatedAt) {
		t.Fatalf("Update = %+v, %v", updated, err)
	}
	if same, err := svc.Update(ctx, admin, "acme", tenants.UpdateInput{Name: &name}); err != nil || !cmp.Equal(same, updated) {
		t.Errorf("an update that changes nothing = %+v, %v", same, err)
	}
	if _, err := svc.Update(ctx, admin, "nowhere", tenants.UpdateInput{Name: &name}); !errs.Is(err, errs.CodeNotFound) {
		t.Errorf("Update of an unknown tenant = %v", err)
	}
	blank := " "
	if _, err := svc.Update(ctx, admin, "acme", tenants.UpdateInput{Name: &blank}); !errs.Is(err, errs.CodeUnprocessable) {
		t.Errorf("Update to a blank name = %v, want 422", err)
	}

	var entries []models.AuditEntry
	db.Where("resource_type = ?", "tenant").Order("id").Find(&entries)
	var got []string
	for _, e := range entries {
		got = append(got, e.Action+" "+e.ResourceID+" "+e.PrincipalID)
	}
	want := []string{"tenant.create acme user:u-admin", "tenant.create globex user:u-admin", "tenant.update acme user:u-admin"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit entries (-want +got):\n%s", diff)
	}
	if entries[2].Details["old_name"] != "Acme Corp" || entries[2].Details["name"] != name {
		t.Errorf("update details = %v", entries[2].Details)
	}

	var ids []string
	page, err := svc.List(ctx, tenants.ListFilter{Limit: 1})
	for err == nil {
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if page.NextCursor == "" {
			break
		}
		page, err = svc.List(ctx, tenants.ListFilter{Limit: 1, Cursor: page.NextCursor})
	}
	if err != nil || !cmp.Equal(ids, []string{"globex", "acme"}) {
		t.Errorf("paged ids = %v, %v; want newest first [globex acme]", ids, err)
	}
}

// TestBackfill: the start of a release with tenants over the data of one
// without: the default tenant, the tenants of existing budgets (whatever
// their ids) and the accounts that are not admins; repeated and raced by
// replicas, it changes nothing more.
func TestBackfill(t *testing.T) {
	svc, db := newService(t)
	ctx := context.Background()
	now := time.Now().UTC()
	for _, b := range []models.BudgetLimit{
		{TenantID: "acme", ProjectID: "p1", TotalLimit: 10, UpdatedAt: now},
		{TenantID: "acme", ProjectID: "p2", TotalLimit: 10, UpdatedAt: now},
		{TenantID: "Legacy Team", ProjectID: "p1", TotalLimit: 10, UpdatedAt: now},
		{TenantID: "default", ProjectID: "p1", TotalLimit: 10, UpdatedAt: now},
	} {
		if err := db.Create(&b).Error; err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []models.User{
		{ID: "u1", Username: "root", PasswordHash: "x", Role: "admin", CreatedAt: now, UpdatedAt: now, PasswordChangedAt: now},
		{ID: "u2", Username: "op", PasswordHash: "x", Role: "operator", CreatedAt: now, UpdatedAt: now, PasswordChangedAt: now},
		{ID: "u3", Username: "dev", PasswordHash: "x", Role: "developer", CreatedAt: now, UpdatedAt: now, PasswordChangedAt: now},
	} {
		if err := db.Create(&u).Error; err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := svc.Backfill(ctx, "default"); err != nil {
				t.Errorf("Backfill: %v", err)
			}
		})
	}
	wg.Wait()
	if err := svc.Backfill(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	var ids []string
	db.Model(&models.Tenant{}).Order("id").Pluck("id", &ids)
	if diff := cmp.Diff([]string{"Legacy Team", "acme", "default"}, ids); diff != "" {
		t.Errorf("tenants (-want +got):\n%s", diff)
	}
	var users []models.User
	db.Order("id").Find(&users)
	got := map[string]string{}
	for _, u := range users {
		got[u.Username] = "<platform>"
		if u.TenantID != nil {
			got[u.Username] = *u.TenantID
		}
	}
	if diff := cmp.Diff(map[string]string{"root": "<platform>", "op": "default", "dev": "default"}, got); diff != "" {
		t.Errorf("account tenants (-want +got):\n%s", diff)
	}
	if err := svc.Backfill(ctx, "Not A Slug"); err == nil {
		t.Error("Backfill accepted a default tenant that is not a slug")
	}
}
