package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/platform/database"
)

// TestAPIKeysCommand: apikeys create prints the secret alone on stdout, the
// key works against a server on the same database, list shows it without
// the secret, revoke ends it; each change is audited as the --as account.
func TestAPIKeysCommand(t *testing.T) {
	env, _ := cliEnv(t)
	env["SEED_DEMO_USERS"] = "true"
	srv := testenv.StartConfig(t, cliServerConfig(t, env)) // migrates and seeds the demo users
	create := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"apikeys", "create"}, args...), func(k string) string { return env[k] },
			strings.NewReader(""), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	secret, info, err := create("--name", "ci", "--role", "developer", "--as", "operator", "--project", "support-bot", "--rate-limit", "600-M", "--tokens-per-minute", "5000")
	if err != nil || !regexp.MustCompile(`^gak_[0-9A-Za-z]{43}\n$`).MatchString(secret) || !strings.Contains(info, `"ci" (role developer, tenant default, created by operator)`) {
		t.Fatalf("create: stdout %q stderr %q err %v", secret, info, err)
	}
	secret = strings.TrimSpace(secret)
	m := srv.Get(t, "/api/v1/auth/me", secret).WantStatus(t, http.StatusOK).Map(t)
	if m["role"] != "developer" || m["tenant_id"] != "default" || !strings.HasPrefix(m["principal_id"].(string), "key:") {
		t.Errorf("/auth/me with the CLI's key = %v", m)
	}
	id := strings.TrimPrefix(m["principal_id"].(string), "key:")
	if row := cliKeyRow(t, srv, id); row.TokensPerMinute == nil || *row.TokensPerMinute != 5000 {
		t.Errorf("stored tokens_per_minute = %v, want 5000", row.TokensPerMinute)
	}

	platform, _, err := create("--name", "root", "--role", "admin")
	if err != nil {
		t.Fatalf("create a platform key as the default admin: %v", err)
	}
	if m := srv.Get(t, "/api/v1/auth/me", strings.TrimSpace(platform)).WantStatus(t, http.StatusOK).Map(t); m["tenant_id"] != nil {
		t.Errorf("platform key /auth/me = %v", m)
	}
	for name, c := range map[string]struct {
		args    []string
		wantErr string
	}{
		"a role above the account's": {[]string{"--name", "x", "--role", "admin", "--as", "operator"}, "role operator may not create a key of role admin"},
		"another tenant":             {[]string{"--name", "x", "--role", "observer", "--as", "operator", "--tenant", "acme"}, "cannot create keys in tenant acme"},
		"a tenant that is missing":   {[]string{"--name", "x", "--role", "observer", "--tenant", "acme"}, `tenant "acme" does not exist`},
		"a bad rate":                 {[]string{"--name", "x", "--role", "observer", "--rate-limit", "lots"}, "rate_limit must be a rate like 600-M"},
		"a zero token limit":         {[]string{"--name", "x", "--role", "observer", "--tokens-per-minute", "0"}, "tokens_per_minute must be from 1"},
		"a token limit not a number": {[]string{"--name", "x", "--role", "observer", "--tokens-per-minute", "lots"}, "must be a whole number of tokens"},
		"an unknown account":         {[]string{"--name", "x", "--role", "observer", "--as", "nobody"}, `user "nobody" not found`},
		"no name":                    {[]string{"--role", "observer"}, "missing --name or --role"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := create(c.args...); err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("err = %v, want it to mention %q", err, c.wantErr)
			}
		})
	}

	out, err := runCLI(t, env, "", "apikeys", "list")
	if err != nil || strings.Count(out, "\n") != 3 || !strings.Contains(out, id) || !strings.Contains(out, "active") || strings.Contains(out, secret) {
		t.Fatalf("list: %q, %v; want a header and two keys, never a secret", out, err)
	}
	if out, err := runCLI(t, env, "", "apikeys", "list", "--tenant", "default"); err != nil || strings.Count(out, "\n") != 2 {
		t.Errorf("list --tenant default: %q, %v; want one key", out, err)
	}
	if _, err := runCLI(t, env, "", "apikeys", "revoke", "--id", id, "--as", "developer"); err == nil || !strings.Contains(err.Error(), "lacks key.manage") {
		t.Errorf("revoke as developer: %v, want a refusal", err)
	}
	out, err = runCLI(t, env, "", "apikeys", "revoke", "--id", id)
	if err != nil || !strings.Contains(out, "revoked API key "+id) {
		t.Fatalf("revoke: %q, %v", out, err)
	}
	testenv.Wait(t, 5*time.Second, "the server to refuse the revoked key", func() bool {
		return srv.Get(t, "/api/v1/auth/me", secret).Status == http.StatusUnauthorized
	})
	if _, err := runCLI(t, env, "", "apikeys", "revoke", "--id", "0b9d3f2e-5c1a-4e7b-9f3d-2a6c8e1b4d70"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("revoke an unknown key: %v", err)
	}
	for _, args := range [][]string{{"apikeys"}, {"apikeys", "delete"}, {"apikeys", "revoke"}, {"apikeys", "list", "extra"}} {
		if _, err := runCLI(t, env, "", args...); err == nil || !strings.Contains(err.Error(), "usage:") {
			t.Errorf("%v: %v, want the usage", args, err)
		}
	}

	db, err := database.Open(context.Background(), database.Options{URL: env["DATABASE_URL"], SQLitePath: filepath.Join(env["DATA_DIR"], "control-plane.db"), MinConns: 1, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var entries []models.AuditEntry
	if err := db.DB.Where("resource_type = ?", "api_key").Order("id").Find(&entries).Error; err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Action+" "+e.Role)
	}
	if strings.Join(got, ",") != "key.create operator,key.create admin,key.revoke admin" || entries[0].ResourceID != id {
		t.Errorf("audit entries = %v", got)
	}
}

func cliKeyRow(t *testing.T, srv *testenv.Server, id string) models.APIKey {
	t.Helper()
	var row models.APIKey
	if err := srv.App.DB().DB.Where("id = ?", id).Take(&row).Error; err != nil {
		t.Fatal(err)
	}
	return row
}
