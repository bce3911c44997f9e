package handlers_test

import (
	"context"
	"testing"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/tenants"
)

// testPassword is the password of the accounts addUser creates.
const testPassword = "test-password-1"

// addUser creates an account of role bound to tenant ("" for a platform
// admin), creating the tenant when it is new, as the users API and the CLI
// would, and returns its token.
func addUser(t testing.TB, srv *testenv.Server, username string, role auth.Role, tenant string) string {
	t.Helper()
	ctx := context.Background()
	db := srv.App.DB().DB
	if tenant != "" {
		ensureTenant(t, srv, tenant)
	}
	if _, err := auth.NewUsers(db, 4, nil).Create(ctx, username, testPassword, role, tenant); err != nil {
		t.Fatalf("create user %s: %v", username, err)
	}
	return srv.Login(t, username, testPassword)
}

// moveUser binds an existing account (a demo user) to tenant, creating the
// tenant when it is new. Call it before the account logs in: a verified
// account is cached for up to 1 s.
func moveUser(t testing.TB, srv *testenv.Server, username, tenant string) {
	t.Helper()
	ensureTenant(t, srv, tenant)
	res := srv.App.DB().DB.Model(&models.User{}).Where("username = ?", username).Update("tenant_id", tenant)
	if res.Error != nil || res.RowsAffected != 1 {
		t.Fatalf("move %s to tenant %s: %v (%d rows)", username, tenant, res.Error, res.RowsAffected)
	}
}

// ensureTenant creates tenant unless it exists.
func ensureTenant(t testing.TB, srv *testenv.Server, tenant string) {
	t.Helper()
	db := srv.App.DB().DB
	_, err := tenants.New(db, audit.New(db)).Create(context.Background(), audit.Actor{}, tenants.CreateInput{ID: tenant})
	if err != nil && !errs.Is(err, errs.CodeConflict) {
		t.Fatalf("create tenant %s: %v", tenant, err)
	}
}
