package main

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/platform/database"
)

// TestMigrateSeedsAccounts: a replica started with MIGRATE_ON_START=false on
// an empty database cannot create the accounts; `migrate` creates the demo
// users and the bootstrap admin by the start's rules, once (run twice), and
// the replica that was already running logs them in.
func TestMigrateSeedsAccounts(t *testing.T) {
	env, _ := cliEnv(t)
	env["MIGRATE_ON_START"] = "false"
	env["SEED_DEMO_USERS"] = "true"
	env["ADMIN_USERNAME"], env["ADMIN_PASSWORD"] = "root", "bootstrap-passw0rd-42"
	srv := testenv.StartConfig(t, cliServerConfig(t, env))

	out, err := runCLI(t, env, "", "migrate")
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if !strings.Contains(out, "demo users with well-known passwords are enabled") || !strings.Contains(out, "msg=\"bootstrap admin\" username=root changed=true") {
		t.Errorf("migrate does not log the accounts it created:\n%s", out)
	}
	out, err = runCLI(t, env, "", "migrate")
	if err != nil {
		t.Fatalf("second migrate: %v\n%s", err, out)
	}
	if !strings.Contains(out, "created_now=[]") || !strings.Contains(out, "username=root changed=false") {
		t.Errorf("a second migrate changed the accounts:\n%s", out)
	}

	db, err := database.Open(context.Background(), database.Options{URL: env["DATABASE_URL"], SQLitePath: filepath.Join(env["DATA_DIR"], "control-plane.db"), MinConns: 1, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var users []models.User
	if err := db.Order("username").Find(&users).Error; err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range users {
		tenant := ""
		if u.TenantID != nil {
			tenant = *u.TenantID
		}
		got = append(got, u.Username+":"+u.Role+":"+tenant)
	}
	sort.Strings(got)
	want := "admin:admin:,developer:developer:default,observer:observer:default,operator:operator:default,root:admin:"
	if strings.Join(got, ",") != want {
		t.Errorf("accounts after migrate = %v, want %s", got, want)
	}
	var tenants int64
	if err := db.Model(&models.Tenant{}).Where("id = ?", "default").Count(&tenants).Error; err != nil || tenants != 1 {
		t.Errorf("default tenant rows = %d (%v), want 1", tenants, err)
	}

	// The replica started before the schema existed serves the accounts now.
	srv.Login(t, "root", "bootstrap-passw0rd-42")
	srv.Login(t, "operator", "operator123")
	// And a start on the migrated schema, still without applying migrations.
	testenv.StartConfig(t, cliServerConfig(t, env)).Login(t, "developer", "dev123")
}
