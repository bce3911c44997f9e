package auth_test

import (
	"context"
	"sync"
	"testing"

	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/errs"
)

// TestLastAdminsDemotingEachOther: two platform admins disabling each other
// at the same moment, many times over: exactly one change succeeds each
// round, the other is the 409 of the last platform admin, and one enabled
// platform admin is always left (the admins are locked in one order, so the
// two transactions never both pass the count, nor deadlock on PostgreSQL).
func TestLastAdminsDemotingEachOther(t *testing.T) {
	f := newFixture(t, fixtureOpts{secret: "0123456789abcdef0123456789abcdef"})
	ctx := context.Background()
	yes := true
	// Each round starts with no enabled platform admin but its own two.
	disable := func(where string, args ...any) {
		t.Helper()
		if err := f.db.Exec("UPDATE users SET disabled = ? WHERE "+where, append([]any{true}, args...)...).Error; err != nil {
			t.Fatal(err)
		}
	}
	disable("1 = 1")
	for round := range 5 {
		var ids [2]string
		for i, name := range []string{"root-a", "root-b"} {
			u, err := f.svc.CreateUser(ctx, actor("10.0.0.1"), auth.NewUser{Username: name + string(rune('0'+round)), Password: "long enough", Role: auth.RoleAdmin})
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = u.ID
		}
		var wg sync.WaitGroup
		results := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, results[i] = f.svc.UpdateUser(ctx, actor("10.0.0.1"), ids[1-i], auth.UserChange{Disabled: &yes})
			}()
		}
		wg.Wait()
		ok, conflicts := 0, 0
		for _, err := range results {
			switch {
			case err == nil:
				ok++
			case errs.Is(err, errs.CodeConflict):
				conflicts++
			default:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if ok != 1 || conflicts != 1 {
			t.Fatalf("round %d: %d succeeded, %d conflicts; want 1 and 1", round, ok, conflicts)
		}
		var left int64
		if err := f.db.Table("users").Where("role = 'admin' AND tenant_id IS NULL AND disabled = ?", false).Count(&left).Error; err != nil || left != 1 {
			t.Fatalf("round %d: %d enabled platform admins left (%v), want 1", round, left, err)
		}
		disable("id IN ?", ids[:])
	}
}

// TestChangePasswordOnlyWithOwnToken: an API key acting for its creator
// cannot change the creator's password (403), and nothing is counted or
// changed.
func TestChangePasswordOnlyWithOwnToken(t *testing.T) {
	f := newFixture(t, fixtureOpts{secret: "0123456789abcdef0123456789abcdef"})
	u, err := f.users.Create(context.Background(), "keyowner", "long enough", auth.RoleDeveloper, "acme")
	if err != nil {
		t.Fatal(err)
	}
	key := auth.Identity{PrincipalID: auth.KeyPrincipal("k1"), UserID: u.ID, Username: u.Username, Role: auth.RoleDeveloper,
		TenantID: "acme", TokenID: "k1", KeyID: "k1"}
	_, err = f.svc.ChangePassword(context.Background(), actor("10.0.0.2"), key, "long enough", "another password")
	if !errs.Is(err, errs.CodeForbidden) {
		t.Fatalf("change with an API key: %v, want auth.forbidden", err)
	}
	if after := f.user(t, "keyowner"); !after.PasswordChangedAt.Equal(u.PasswordChangedAt) {
		t.Errorf("password_changed_at moved: %v → %v", u.PasswordChangedAt, after.PasswordChangedAt)
	}
}
