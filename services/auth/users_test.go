package auth_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/internal/dbtest"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/errs"
)

// fieldsOf returns the failed fields of a 422.
func fieldsOf(err error) []string {
	e, ok := err.(*errs.Error)
	if !ok {
		return nil
	}
	fs, _ := e.Details["errors"].([]errs.FieldError)
	var out []string
	for _, f := range fs {
		out = append(out, f.Field)
	}
	return out
}

func TestUsersCreate(t *testing.T) {
	f := newFixture(t, fixtureOpts{secret: strings.Repeat("s", 32)})
	ctx := context.Background()
	tests := []struct {
		name     string
		username string
		password string
		role     auth.Role
		tenant   string
		wantCode errs.Code // "" for success
		wantUser string
		field    string
	}{
		{name: "trimmed and lowercased", username: "  Alice ", password: "password1", role: auth.RoleOperator, tenant: "acme", wantUser: "alice"},
		{name: "72-byte password", username: "bob", password: strings.Repeat("b", 72), role: auth.RoleObserver, tenant: "default", wantUser: "bob"},
		{name: "a platform admin", username: "root2", password: "password1", role: auth.RoleAdmin, wantUser: "root2"},
		{name: "a tenant-bound admin", username: "acme-admin", password: "password1", role: auth.RoleAdmin, tenant: "acme", wantUser: "acme-admin"},
		{name: "only an admin may be a platform principal", username: "frank", password: "password1", role: auth.RoleOperator, wantCode: errs.CodeUnprocessable, field: "tenant_id"},
		{name: "an unknown tenant", username: "frank", password: "password1", role: auth.RoleOperator, tenant: "nowhere", wantCode: errs.CodeUnprocessable, field: "tenant_id"},
		{name: "73-byte password is refused, not truncated", username: "carol", password: strings.Repeat("c", 73), role: auth.RoleObserver, wantCode: errs.CodeUnprocessable, field: "password"},
		{name: "73 bytes of multibyte runes", username: "carol", password: strings.Repeat("é", 36) + "x", role: auth.RoleObserver, wantCode: errs.CodeUnprocessable, field: "password"},
		{name: "short password", username: "dave", password: "short", role: auth.RoleObserver, wantCode: errs.CodeUnprocessable, field: "password"},
		{name: "unknown role", username: "erin", password: "password1", role: "root", wantCode: errs.CodeUnprocessable, field: "role"},
		{name: "anonymous is not a user role", username: "erin", password: "password1", role: auth.RoleAnonymous, wantCode: errs.CodeUnprocessable, field: "role"},
		{name: "bad characters", username: "a b", password: "password1", role: auth.RoleObserver, wantCode: errs.CodeUnprocessable, field: "username"},
		{name: "empty", username: "   ", password: "password1", role: auth.RoleObserver, wantCode: errs.CodeUnprocessable, field: "username"},
		{name: "duplicate after normalization", username: "ALICE", password: "password1", role: auth.RoleObserver, wantCode: errs.CodeConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant := tt.tenant
			if tenant == "" && tt.role != auth.RoleAdmin && tt.field != "tenant_id" {
				tenant = "default"
			}
			u, err := f.users.Create(ctx, tt.username, tt.password, tt.role, tenant)
			if tt.wantCode != "" {
				if !errs.Is(err, tt.wantCode) {
					t.Fatalf("Create error = %v, want code %s", err, tt.wantCode)
				}
				if tt.field != "" {
					if diff := cmp.Diff([]string{tt.field}, fieldsOf(err)); diff != "" {
						t.Errorf("failed fields (-want +got):\n%s", diff)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			var stored models.User
			if err := f.db.Where("id = ?", u.ID).Take(&stored).Error; err != nil {
				t.Fatal(err)
			}
			if stored.Username != tt.wantUser || stored.Role != string(tt.role) || stored.Disabled {
				t.Errorf("stored %+v, want username %q role %q enabled", stored, tt.wantUser, tt.role)
			}
			if got := deref(stored.TenantID); got != tenant || u.TenantID != tenant {
				t.Errorf("tenant stored %q, returned %q; want %q", got, u.TenantID, tenant)
			}
			if stored.PasswordHash == tt.password || !strings.HasPrefix(stored.PasswordHash, "$2") {
				t.Errorf("password_hash %q is not a bcrypt hash", stored.PasswordHash)
			}
			if stored.CreatedAt.IsZero() || stored.PasswordChangedAt.IsZero() {
				t.Errorf("timestamps not set: %+v", stored)
			}
		})
	}
	var n int64
	f.db.Model(&models.User{}).Where("username = ?", "carol").Count(&n)
	if n != 0 {
		t.Errorf("carol was stored despite a refused password")
	}
}

func TestUsersSetPassword(t *testing.T) {
	f := newFixture(t, fixtureOpts{secret: strings.Repeat("s", 32)})
	ctx := context.Background()
	// The stored row: the service never hands out the hash.
	stored := func() models.User {
		t.Helper()
		var u models.User
		if err := f.db.Where("username = ?", "developer").Take(&u).Error; err != nil {
			t.Fatal(err)
		}
		return u
	}
	before := stored()
	if err := f.users.SetPassword(ctx, "developer", strings.Repeat("x", 73)); !errs.Is(err, errs.CodeUnprocessable) {
		t.Fatalf("73-byte SetPassword = %v, want 422", err)
	}
	if err := f.users.SetPassword(ctx, "nobody", "password1"); !errs.Is(err, errs.CodeNotFound) {
		t.Fatalf("SetPassword of an unknown user = %v, want not found", err)
	}
	if unchanged := stored(); unchanged.PasswordHash != before.PasswordHash {
		t.Fatal("a refused password changed the hash")
	}
	f.clock.add(time.Minute)
	if err := f.users.SetPassword(ctx, " Developer", "new-password-1"); err != nil {
		t.Fatal(err)
	}
	after := stored()
	if after.PasswordHash == before.PasswordHash || !after.PasswordChangedAt.After(before.PasswordChangedAt) {
		t.Errorf("hash or password_changed_at not updated: before %+v after %+v", before, after)
	}
	if _, err := f.svc.Login(ctx, actor("10.0.0.1"), "developer", "dev123"); !errs.Is(err, errs.CodeInvalidCredentials) {
		t.Errorf("old password still logs in: %v", err)
	}
	if _, err := f.svc.Login(ctx, actor("10.0.0.1"), "developer", "new-password-1"); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestSeedDemoIsIdempotentAndConcurrent(t *testing.T) {
	db := dbtest.New(t).DB
	createTenants(t, db, "demo")
	users := auth.NewUsers(db, 4, nil)
	ctx := context.Background()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created []string
	)
	for range 6 {
		wg.Go(func() {
			names, err := users.SeedDemo(ctx, "demo")
			if err != nil {
				t.Errorf("SeedDemo: %v", err)
			}
			mu.Lock()
			created = append(created, names...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(created) != 4 {
		t.Errorf("created %v across 6 concurrent seeders, want each of the 4 demo users once", created)
	}
	var rows []models.User
	db.Order("username").Find(&rows)
	got := map[string]string{}
	for _, r := range rows {
		got[r.Username] = r.Role + "@" + deref(r.TenantID)
	}
	// admin is a platform principal; the others belong to the tenant.
	want := map[string]string{"admin": "admin@", "operator": "operator@demo", "developer": "developer@demo", "observer": "observer@demo"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	again, err := users.SeedDemo(ctx, "demo")
	if err != nil || len(again) != 0 {
		t.Errorf("second SeedDemo = %v, %v; want nothing created", again, err)
	}
}

func TestEnsureAdmin(t *testing.T) {
	f := newFixture(t, fixtureOpts{secret: strings.Repeat("s", 32)})
	ctx := context.Background()
	steps := []struct {
		name        string
		prepare     func()
		password    string
		wantChanged bool
	}{
		{name: "creates", password: "bootstrap-1", wantChanged: true},
		{name: "no-op when already so", password: "bootstrap-1", wantChanged: false},
		{name: "new password", password: "bootstrap-2", wantChanged: true},
		{name: "restores a demoted, disabled admin", password: "bootstrap-2", wantChanged: true, prepare: func() {
			f.db.Model(&models.User{}).Where("username = ?", "root").Updates(map[string]any{"role": "observer", "disabled": true})
		}},
		{name: "makes a tenant-bound admin a platform principal again", password: "bootstrap-2", wantChanged: true, prepare: func() {
			f.db.Model(&models.User{}).Where("username = ?", "root").Update("tenant_id", "acme")
		}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.prepare != nil {
				s.prepare()
			}
			changed, err := f.users.EnsureAdmin(ctx, " Root", s.password)
			if err != nil || changed != s.wantChanged {
				t.Fatalf("EnsureAdmin = %v, %v; want changed=%v", changed, err, s.wantChanged)
			}
			if u := f.user(t, "root"); u.Role != auth.RoleAdmin || u.Disabled || u.TenantID != "" {
				t.Fatalf("root = %+v; want an enabled platform admin", u)
			}
			if _, err := f.svc.Login(ctx, actor("10.0.0.2"), "root", s.password); err != nil {
				t.Errorf("login with the bootstrap password: %v", err)
			}
		})
	}
	if _, err := f.users.EnsureAdmin(ctx, "root", strings.Repeat("p", 73)); err == nil {
		t.Error("EnsureAdmin accepted a 73-byte password")
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
