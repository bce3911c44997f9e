package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/internal/dbtest"
	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/platform/database"
	"github.com/golden-architecture/control-plane/services/audit"
)

// cliEnv is the environment of one subcommand run: a fresh database (SQLite,
// or a PostgreSQL database of its own with TEST_DATABASE_URL).
func cliEnv(t *testing.T) (map[string]string, string) {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir, "BCRYPT_COST": "4", "LOG_LEVEL": "error"}
	if base := os.Getenv("TEST_DATABASE_URL"); base != "" {
		env["DATABASE_URL"] = dbtest.CreateDatabase(t, base, "t_cli_"+strings.ReplaceAll(uuid.NewString(), "-", ""))
		env["JWT_SECRET"] = strings.Repeat("s", 32)
	}
	return env, dir
}

func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestUsersCommand(t *testing.T) {
	env, _ := cliEnv(t)
	env["USER"] = "ops"
	steps := []struct {
		name    string
		stdin   string
		args    []string
		wantErr string // "" for success
		wantOut string
	}{
		{"create", "s3cret-pass\n", []string{"users", "create", "--username", " Alice ", "--role", "operator"}, "", "created user alice (role operator, tenant default"},
		{"create a platform admin", "s3cret-pass\n", []string{"users", "create", "--username", "root", "--role", "admin"}, "", "created user root (role admin, platform, no tenant"},
		{"create in a tenant that does not exist", "s3cret-pass\n", []string{"users", "create", "--username", "carol", "--role", "observer", "--tenant", "acme"}, `tenant "acme" does not exist`, ""},
		{"duplicate", "s3cret-pass\n", []string{"users", "create", "--username", "ALICE", "--role", "observer"}, `user "alice" already exists`, ""},
		{"73-byte password", strings.Repeat("x", 73) + "\n", []string{"users", "create", "--username", "bob", "--role", "observer"}, "password must be at most 72 bytes", ""},
		{"bad role", "s3cret-pass\n", []string{"users", "create", "--username", "bob", "--role", "root"}, "role must be one of", ""},
		{"no password", "", []string{"users", "create", "--username", "bob", "--role", "observer"}, "no password on stdin", ""},
		{"missing role", "s3cret-pass\n", []string{"users", "create", "--username", "bob"}, "usage:", ""},
		{"set-password 73 bytes", strings.Repeat("y", 73) + "\n", []string{"users", "set-password", "--username", "alice"}, "password must be at most 72 bytes", ""},
		{"set-password unknown", "another-pass\n", []string{"users", "set-password", "--username", "nobody"}, `user "nobody" not found`, ""},
		{"set-password", "another-pass\r\n", []string{"users", "set-password", "--username", "Alice"}, "", "password of alice changed"},
		{"unknown subcommand", "", []string{"users", "delete"}, "unknown users command", ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			out, err := runCLI(t, env, s.stdin, s.args...)
			if s.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), s.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, s.wantErr)
				}
				return
			}
			if err != nil || !strings.Contains(out, s.wantOut) {
				t.Fatalf("out %q, err %v; want %q", out, err, s.wantOut)
			}
		})
	}
	db, err := database.Open(context.Background(), database.Options{URL: env["DATABASE_URL"], SQLitePath: filepath.Join(env["DATA_DIR"], "control-plane.db"), MinConns: 1, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var users []models.User
	db.Order("username").Find(&users)
	if len(users) != 2 || users[0].Username != "alice" || users[0].Role != "operator" || users[0].TenantID == nil ||
		*users[0].TenantID != "default" || users[1].Username != "root" || users[1].TenantID != nil {
		t.Fatalf("users = %+v, want alice (operator of default) and root (platform admin)", users)
	}

	// Each change is audited as over HTTP, by the command line's actor; the
	// failed commands wrote nothing (Backfill writes no entry of its own).
	var entries []models.AuditEntry
	if err := db.Order("id").Find(&entries).Error; err != nil {
		t.Fatal(err)
	}
	type row struct {
		Action, ResourceType, ResourceID, PrincipalID, UserID, Role, TenantID, RequestID string
		Details                                                                          map[string]any
	}
	var got []row
	for _, e := range entries {
		got = append(got, row{e.Action, e.ResourceType, e.ResourceID, e.PrincipalID, e.UserID, e.Role, e.TenantID, e.RequestID, e.Details})
	}
	alice, root := users[0].ID, users[1].ID
	want := []row{
		{"user.create", "user", alice, "cli:ops", "", "", "", "cli:users create", map[string]any{"username": "alice", "role": "operator", "tenant_id": "default"}},
		{"user.create", "user", root, "cli:ops", "", "", "", "cli:users create", map[string]any{"username": "root", "role": "admin", "tenant_id": nil}},
		{"user.password.reset", "user", alice, "cli:ops", "", "", "", "cli:users set-password", map[string]any{"username": "alice"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit entries (-want +got):\n%s", diff)
	}

	// The account works on a server over the same database.
	srv := testenv.StartConfig(t, cliServerConfig(t, env))
	srv.Login(t, "alice", "another-pass")
}

func TestCLIActor(t *testing.T) {
	for _, tt := range []struct{ user, want string }{{"", "cli"}, {"  ", "cli"}, {"ops", "cli:ops"}, {" ops\n", "cli:ops"}} {
		got := cliActor(func(k string) string { return map[string]string{"USER": tt.user}[k] }, "users create")
		want := audit.Actor{PrincipalID: tt.want, Username: tt.want, RequestID: "cli:users create"}
		if got != want {
			t.Errorf("USER=%q: actor %+v, want %+v", tt.user, got, want)
		}
	}
}

func TestKeysCommand(t *testing.T) {
	env, dir := cliEnv(t)
	delete(env, "JWT_SECRET")
	env["JWT_KEYS_DIR"] = filepath.Join(dir, "keys")
	if _, err := runCLI(t, env, "", "keys", "list"); err == nil || !strings.Contains(err.Error(), "holds no RSA private key") {
		t.Fatalf("keys list on an empty dir: %v", err)
	}
	out, err := runCLI(t, env, "", "keys", "rotate")
	if err != nil || !strings.Contains(out, "current") {
		t.Fatalf("first rotate: %q, %v", out, err)
	}
	out, err = runCLI(t, env, "", "keys", "rotate")
	if err != nil || strings.Count(out, "current") != 2 || !strings.Contains(out, "retired") || !strings.Contains(out, "verifies until") {
		t.Fatalf("second rotate: %q, %v", out, err)
	}
	files, _ := filepath.Glob(filepath.Join(env["JWT_KEYS_DIR"], "*.pem"))
	if len(files) != 2 {
		t.Errorf("%d key files, want 2", len(files))
	}
	env["JWT_SECRET"] = strings.Repeat("s", 32)
	if _, err := runCLI(t, env, "", "keys", "rotate"); err == nil || !strings.Contains(err.Error(), "HS256") {
		t.Errorf("rotate with JWT_SECRET set: %v, want a refusal", err)
	}
}

// cliServerConfig is the configuration of a server on the CLI's stores.
func cliServerConfig(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
