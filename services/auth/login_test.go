package auth_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/golden-architecture/control-plane/internal/metrictest"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/platform/kv"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/errs"
)

func TestLogin(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	f.db.Model(&models.User{}).Where("username = ?", "observer").Update("disabled", true)
	tests := []struct {
		name     string
		username string
		password string
		wantCode errs.Code
		wantRole auth.Role
	}{
		{name: "success", username: "admin", password: "admin123", wantRole: auth.RoleAdmin},
		{name: "username is normalized", username: "  OPERATOR ", password: "operator123", wantRole: auth.RoleOperator},
		{name: "wrong password", username: "admin", password: "nope", wantCode: errs.CodeInvalidCredentials},
		{name: "unknown user", username: "ghost", password: "admin123", wantCode: errs.CodeInvalidCredentials},
		{name: "disabled user with the right password", username: "observer", password: "obs123", wantCode: errs.CodeInvalidCredentials},
		{name: "73-byte password", username: "admin", password: strings.Repeat("a", 73), wantCode: errs.CodeUnprocessable},
		{name: "password sharing the first 72 bytes does not match", username: "admin", password: "admin123" + strings.Repeat("x", 64), wantCode: errs.CodeInvalidCredentials},
	}
	var messages []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := f.svc.Login(ctx, actor("192.0.2."+tt.name[:1]), tt.username, tt.password)
			if tt.wantCode != "" {
				if !errs.Is(err, tt.wantCode) {
					t.Fatalf("Login error = %v, want %s", err, tt.wantCode)
				}
				if tt.wantCode == errs.CodeInvalidCredentials {
					var e *errs.Error
					errors.As(err, &e)
					messages = append(messages, e.Message)
					if e.Details != nil {
						t.Errorf("a 401 carries details %v", e.Details)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			id, err := f.svc.Verify(ctx, s.Token)
			if err != nil {
				t.Fatalf("Verify of a fresh token: %v", err)
			}
			if id.Role != tt.wantRole || id.UserID != s.User.ID || id.Username != strings.TrimSpace(strings.ToLower(tt.username)) {
				t.Errorf("identity %+v, want role %s user %s", id, tt.wantRole, s.User.ID)
			}
			if !id.ExpiresAt.Equal(s.ExpiresAt) || !s.ExpiresAt.Equal(f.clock.now().Add(time.Hour)) {
				t.Errorf("expires %s / %s, want now+1h", id.ExpiresAt, s.ExpiresAt)
			}
		})
	}
	for _, m := range messages[1:] {
		if m != messages[0] {
			t.Errorf("401 messages differ: %q", messages)
		}
	}
	if got := metrictest.Value(t, f.reg, "auth_logins_total", map[string]string{"result": "success"}); got != 2 {
		t.Errorf(`auth_logins_total{result="success"} = %v, want 2`, got)
	}
	if got := metrictest.Value(t, f.reg, "auth_logins_total", map[string]string{"result": "fail"}); got != 4 {
		t.Errorf(`auth_logins_total{result="fail"} = %v, want 4`, got)
	}
}

// attempt logs in and reduces the answer to a code ("ok" on success) and,
// for 429, the advertised wait.
func attempt(f *fixture, ip, user, pw string) (string, int64) {
	_, err := f.svc.Login(context.Background(), actor(ip), user, pw)
	if err == nil {
		return "ok", 0
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		return err.Error(), 0
	}
	wait, _ := e.Details["retry_after_seconds"].(int64)
	return string(e.Code), wait
}

func TestLockout(t *testing.T) {
	stores := map[string]func(*testing.T) kv.Store{"memory": func(*testing.T) kv.Store { return nil }}
	if redisStore(t) != nil {
		stores["redis"] = func(t *testing.T) kv.Store { return redisStore(t) }
	}
	for name, store := range stores {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{store: store(t), maxAttempts: 3, lockoutTTL: time.Minute})
			for i := range 3 {
				if code, _ := attempt(f, "198.51.100.1", "admin", "wrong"); code != string(errs.CodeInvalidCredentials) {
					t.Fatalf("failure %d = %s, want 401", i+1, code)
				}
			}
			code, wait := attempt(f, "198.51.100.1", "Admin", "admin123")
			if code != string(errs.CodeRateLimited) || wait < 1 || wait > 60 {
				t.Fatalf("4th attempt (right password) = %s wait %d, want rate_limit.exceeded within 60 s", code, wait)
			}
			if code, _ := attempt(f, "198.51.100.2", "admin", "admin123"); code != "ok" {
				t.Errorf("same user from another IP = %s, want ok (the key is username + IP)", code)
			}
			if code, _ := attempt(f, "198.51.100.1", "operator", "operator123"); code != "ok" {
				t.Errorf("another user from the same IP = %s, want ok", code)
			}
			var locked int64
			f.db.Model(&models.AuditEntry{}).Where("action = ?", auth.ActionLoginLocked).Count(&locked)
			if locked != 1 {
				t.Errorf("auth.login.locked entries = %d, want 1", locked)
			}

			// Success resets the counter.
			for range 2 {
				attempt(f, "198.51.100.3", "developer", "wrong")
			}
			if code, _ := attempt(f, "198.51.100.3", "developer", "dev123"); code != "ok" {
				t.Fatalf("success after 2 failures = %s", code)
			}
			for i := range 3 {
				if code, _ := attempt(f, "198.51.100.3", "developer", "wrong"); code != string(errs.CodeInvalidCredentials) {
					t.Fatalf("failure %d after a reset = %s, want 401", i+1, code)
				}
			}
			if code, _ := attempt(f, "198.51.100.3", "developer", "dev123"); code != string(errs.CodeRateLimited) {
				t.Errorf("attempt after 3 new failures = %s, want 429", code)
			}
		})
	}
}

func TestLockoutWindowEnds(t *testing.T) {
	f := newFixture(t, fixtureOpts{maxAttempts: 2, lockoutTTL: 15 * time.Minute})
	attempt(f, "203.0.113.9", "admin", "x")
	f.clock.add(5 * time.Minute)
	attempt(f, "203.0.113.9", "admin", "x")
	if code, wait := attempt(f, "203.0.113.9", "admin", "admin123"); code != string(errs.CodeRateLimited) || wait != 600 {
		t.Fatalf("locked attempt = %s wait %d, want 429 with 600 s (the window started at the first failure)", code, wait)
	}
	f.clock.add(10*time.Minute - time.Second)
	if code, wait := attempt(f, "203.0.113.9", "admin", "admin123"); code != string(errs.CodeRateLimited) || wait != 1 {
		t.Fatalf("one second before the end = %s wait %d, want 429 with 1 s", code, wait)
	}
	f.clock.add(time.Second)
	if code, _ := attempt(f, "203.0.113.9", "admin", "admin123"); code != "ok" {
		t.Errorf("after the window = %s, want ok", code)
	}
}

// brokenStore fails every call, like Redis being down.
type brokenStore struct{}

var errDown = errors.New("redis: connection refused")

func (brokenStore) Incr(context.Context, string, time.Duration) (int64, time.Duration, error) {
	return 0, 0, errDown
}
func (brokenStore) Get(context.Context, string) (int64, time.Duration, error) { return 0, 0, errDown }
func (brokenStore) Set(context.Context, string, int64, time.Duration) error   { return errDown }
func (brokenStore) Delete(context.Context, string) error                      { return errDown }

func TestStoreDownFailMode(t *testing.T) {
	ctx := context.Background()
	good := newFixture(t, fixtureOpts{secret: strings.Repeat("k", 32)})
	session, err := good.svc.Login(ctx, actor("10.1.1.1"), "admin", "admin123")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		failClosed bool
		wantLogin  errs.Code // "" = success
		wantVerify errs.Code
	}{
		{name: "open", failClosed: false},
		{name: "closed", failClosed: true, wantLogin: errs.CodeUnavailable, wantVerify: errs.CodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{secret: strings.Repeat("k", 32), store: brokenStore{}, failClosed: tt.failClosed})
			_, err := f.svc.Login(ctx, actor("10.1.1.1"), "admin", "admin123")
			if got := codeOf(err); got != tt.wantLogin {
				t.Errorf("Login with the store down = %v, want %q", err, tt.wantLogin)
			}
			// A token of another database's admin: same secret, but its sub
			// is unknown here, so verification gets past the store only in
			// open mode and then fails on the user.
			_, err = f.svc.Verify(ctx, session.Token)
			want := tt.wantVerify
			if want == "" {
				want = errs.CodeUnauthorized
			}
			if got := codeOf(err); got != want {
				t.Errorf("Verify with the store down = %v, want %q", err, want)
			}
		})
	}
}

func codeOf(err error) errs.Code {
	var e *errs.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return errs.CodeInternal
}

func TestLoginAudit(t *testing.T) {
	f := newFixture(t, fixtureOpts{maxAttempts: 1})
	attempt(f, "10.9.9.9", "admin", "secret-guess-1")
	attempt(f, "10.9.9.9", "admin", "secret-guess-2")
	attempt(f, "10.9.9.8", "ghost", "secret-guess-3")
	attempt(f, "10.9.9.7", "admin", "admin123")
	var rows []models.AuditEntry
	if err := f.db.Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	admin := f.user(t, "admin")
	type row struct{ Action, UserID, IP, Reason string }
	var got []row
	for _, r := range rows {
		reason, _ := r.Details["reason"].(string)
		got = append(got, row{r.Action, r.UserID, r.ClientIP, reason})
		for _, v := range r.Details {
			if s, ok := v.(string); ok && (strings.Contains(s, "secret-guess") || strings.Contains(s, "admin123")) {
				t.Errorf("audit details hold a password: %v", r.Details)
			}
		}
		if r.RequestID == "" {
			t.Errorf("entry %s has no request id", r.Action)
		}
	}
	want := []row{
		{auth.ActionLoginFail, admin.ID, "10.9.9.9", "wrong_password"},
		{auth.ActionLoginLocked, "", "10.9.9.9", ""},
		{auth.ActionLoginFail, "", "10.9.9.8", "unknown_user"},
		{auth.ActionLoginSuccess, admin.ID, "10.9.9.7", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit entries (-want +got):\n%s", diff)
	}
}

func TestVerifyFollowsTheUser(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	s, err := f.svc.Login(ctx, actor("10.2.2.2"), "operator", "operator123")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Verify(ctx, s.Token); err != nil { // caches the user
		t.Fatal(err)
	}
	f.db.Model(&models.User{}).Where("id = ?", s.User.ID).Update("role", "observer")
	if id, _ := f.svc.Verify(ctx, s.Token); id.Role != auth.RoleOperator {
		t.Errorf("role within the cache TTL = %s, want the cached operator", id.Role)
	}
	f.clock.add(6 * time.Second)
	if id, err := f.svc.Verify(ctx, s.Token); err != nil || id.Role != auth.RoleObserver {
		t.Errorf("role after the cache TTL = %s, %v; want observer (a role change applies to live tokens)", id.Role, err)
	}
	f.db.Model(&models.User{}).Where("id = ?", s.User.ID).Update("disabled", true)
	f.clock.add(6 * time.Second)
	if _, err := f.svc.Verify(ctx, s.Token); !errs.Is(err, errs.CodeUnauthorized) {
		t.Errorf("token of a disabled user = %v, want 401", err)
	}
	f.db.Model(&models.User{}).Where("id = ?", s.User.ID).Update("disabled", false)
	f.clock.add(6 * time.Second)
	if _, err := f.svc.Verify(ctx, s.Token); err != nil {
		t.Errorf("token after re-enabling: %v", err)
	}
	f.clock.add(time.Second)
	if err := f.users.SetPassword(ctx, "operator", "changed-pass-1"); err != nil {
		t.Fatal(err)
	}
	f.clock.add(6 * time.Second)
	if _, err := f.svc.Verify(ctx, s.Token); !errs.Is(err, errs.CodeUnauthorized) {
		t.Errorf("token issued before a password change = %v, want 401", err)
	}
	f.db.Where("id = ?", s.User.ID).Delete(&models.User{})
	f.clock.add(6 * time.Second)
	if _, err := f.svc.Verify(ctx, s.Token); !errs.Is(err, errs.CodeUnauthorized) {
		t.Errorf("token of a deleted user = %v, want 401", err)
	}
}

// TestVerifyReadsTheTenant: the identity's tenant and principal come from the
// account, a change applies after the user cache TTL like a role change, and
// an account that is not an admin is never a platform principal, even when
// an older release left it without a tenant.
func TestVerifyReadsTheTenant(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	verify := func(username, password string) auth.Identity {
		t.Helper()
		s, err := f.svc.Login(ctx, actor("10.3.3.3"), username, password)
		if err != nil {
			t.Fatal(err)
		}
		id, err := f.svc.Verify(ctx, s.Token)
		if err != nil {
			t.Fatal(err)
		}
		if id.PrincipalID != "user:"+s.User.ID {
			t.Errorf("principal = %q, want user:%s", id.PrincipalID, s.User.ID)
		}
		return id
	}
	if id := verify("admin", "admin123"); id.TenantID != "" || !id.Platform() {
		t.Errorf("admin identity tenant %q, want a platform principal", id.TenantID)
	}
	op := verify("operator", "operator123")
	if op.TenantID != "default" || op.Platform() {
		t.Errorf("operator identity tenant %q, want default", op.TenantID)
	}
	f.db.Model(&models.User{}).Where("username = ?", "operator").Update("tenant_id", "acme")
	f.clock.add(6 * time.Second)
	if id := verify("operator", "operator123"); id.TenantID != "acme" {
		t.Errorf("tenant after a change = %q, want acme", id.TenantID)
	}
	f.db.Model(&models.User{}).Where("username = ?", "developer").Update("tenant_id", nil)
	if id := verify("developer", "dev123"); id.TenantID != "default" {
		t.Errorf("developer without a tenant = %q, want the default tenant (never platform)", id.TenantID)
	}
}

// watchedStore counts revocation lookups and can be taken down, like Redis.
type watchedStore struct {
	kv.Store
	lookups atomic.Int64
	down    atomic.Bool
	// afterLookup, when set, runs once after a revocation lookup has read
	// the store and before its answer returns.
	afterLookup func()
}

func (w *watchedStore) Get(ctx context.Context, key string) (int64, time.Duration, error) {
	if !strings.HasPrefix(key, "revoked:") {
		return w.Store.Get(ctx, key)
	}
	w.lookups.Add(1)
	if w.down.Load() {
		return 0, 0, errDown
	}
	n, left, err := w.Store.Get(ctx, key)
	if hook := w.afterLookup; hook != nil {
		w.afterLookup = nil
		hook()
	}
	return n, left, err
}

// A check that read "not revoked" just before a logout on the same replica
// must not remember the token: the logout applies at once there.
func TestLogoutDuringACheck(t *testing.T) {
	store := &watchedStore{Store: kv.NewMemory(nil)}
	f := newFixture(t, fixtureOpts{store: store})
	ctx := context.Background()
	s, err := f.svc.Login(ctx, actor("10.5.5.5"), "admin", "admin123")
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.tokens.Parse(s.Token)
	if err != nil {
		t.Fatal(err)
	}
	id := auth.Identity{UserID: s.User.ID, Username: "admin", Role: auth.RoleAdmin, TokenID: c.ID, ExpiresAt: s.ExpiresAt}
	store.afterLookup = func() {
		if err := f.svc.Logout(ctx, actor("10.5.5.5"), id); err != nil {
			t.Error(err)
		}
	}
	if _, err := f.svc.Verify(ctx, s.Token); err != nil { // read "not revoked" before the logout
		t.Fatal(err)
	}
	if _, err := f.svc.Verify(ctx, s.Token); !errs.Is(err, errs.CodeUnauthorized) {
		t.Errorf("Verify after a logout that ran during the previous check = %v, want 401", err)
	}
}

// A checked token is trusted for TokenCacheTTL (1 s in the fixture, as in the
// app): repeated requests cost no revocation lookup, a logout applies at once
// on the replica that served it and within the TTL on the others, and neither
// a token's expiry nor a store outage is hidden for longer.
func TestVerifyRemembersCheckedTokens(t *testing.T) {
	store := &watchedStore{Store: kv.NewMemory(nil)}
	f := newFixture(t, fixtureOpts{store: store, failClosed: true, ttl: 10 * time.Minute})
	other := f.replica(t)
	ctx := context.Background()
	s, err := f.svc.Login(ctx, actor("10.4.4.4"), "admin", "admin123")
	if err != nil {
		t.Fatal(err)
	}
	verify := func(svc *auth.Service) error { _, err := svc.Verify(ctx, s.Token); return err }

	for range 5 {
		for _, svc := range []*auth.Service{f.svc, other} {
			if err := verify(svc); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := store.lookups.Load(); n != 2 {
		t.Errorf("revocation lookups for 10 verifications on 2 replicas = %d, want 2 (one per replica)", n)
	}

	f.clock.add(time.Second)
	store.down.Store(true)
	if err := verify(f.svc); !errs.Is(err, errs.CodeUnavailable) {
		t.Errorf("Verify after the TTL with the store down = %v, want 503 (fail closed)", err)
	}
	store.down.Store(false)

	id, err := f.svc.Verify(ctx, s.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(other); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Logout(ctx, actor("10.4.4.4"), id); err != nil {
		t.Fatal(err)
	}
	if err := verify(f.svc); !errs.Is(err, errs.CodeUnauthorized) {
		t.Errorf("Verify on the replica that logged out = %v, want 401 at once", err)
	}
	if err := verify(other); err != nil {
		t.Errorf("Verify on another replica within the TTL = %v, want the remembered check", err)
	}
	f.clock.add(time.Second)
	if err := verify(other); !errs.Is(err, errs.CodeUnauthorized) {
		t.Errorf("Verify on another replica after the TTL = %v, want 401", err)
	}

	// A token checked 0.5 s before it expires is trusted only until then.
	late, err := f.svc.Login(ctx, actor("10.4.4.4"), "admin", "admin123")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.add(late.ExpiresAt.Sub(f.clock.now()) - 500*time.Millisecond)
	if _, err := f.svc.Verify(ctx, late.Token); err != nil {
		t.Fatal(err)
	}
	f.clock.add(600 * time.Millisecond)
	if _, err := f.svc.Verify(ctx, late.Token); !errs.Is(err, errs.CodeUnauthorized) {
		t.Errorf("Verify 0.1 s after the token expired = %v, want 401 (not trusted past its expiry)", err)
	}
}

func TestLogoutRevokes(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	s, _ := f.svc.Login(ctx, actor("10.3.3.3"), "admin", "admin123")
	other, _ := f.svc.Login(ctx, actor("10.3.3.3"), "admin", "admin123")
	id, err := f.svc.Verify(ctx, s.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Logout(ctx, actor("10.3.3.3"), id); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Verify(ctx, s.Token); !errs.Is(err, errs.CodeUnauthorized) {
		t.Errorf("Verify after logout = %v, want 401", err)
	}
	if _, err := f.svc.Verify(ctx, other.Token); err != nil {
		t.Errorf("another token of the same user after logout: %v", err)
	}
	n, left, _ := f.store.Get(ctx, "revoked:"+id.TokenID)
	if n != 1 || left < time.Hour || left > time.Hour+2*time.Minute {
		t.Errorf("revocation marker = %d for %s, want 1 until about the token's expiry", n, left)
	}
	var entries int64
	f.db.Model(&models.AuditEntry{}).Where("action = ? AND resource_id = ?", auth.ActionLogout, id.TokenID).Count(&entries)
	if entries != 1 {
		t.Errorf("auth.logout entries = %d, want 1", entries)
	}
}

// TestLoginRehashesAtTheCurrentCost: after BCRYPT_COST changed (the accounts
// were hashed at 4, the service now hashes at 5), a successful login stores
// the password again at the current cost; the password, its change time and
// the live tokens stay valid. A failed login changes nothing.
func TestLoginRehashesAtTheCurrentCost(t *testing.T) {
	f := newFixture(t, fixtureOpts{secret: "rehash-secret-rehash-secret-0123456789"})
	ctx := context.Background()
	before := f.user(t, "operator")
	old, err := f.svc.Login(ctx, actor("192.0.2.1"), "operator", "operator123")
	if err != nil {
		t.Fatal(err)
	}
	costOf := func() int {
		t.Helper()
		var hash string
		if err := f.db.Table("users").Select("password_hash").Where("username = ?", "operator").Row().Scan(&hash); err != nil {
			t.Fatal(err)
		}
		c, err := bcrypt.Cost([]byte(hash))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if got := costOf(); got != 4 {
		t.Fatalf("cost before = %d, want 4", got)
	}

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := auth.New(auth.NewUsers(f.db, 5, f.clock.now), f.tokens, f.store, audit.New(f.db), log, prometheus.NewRegistry(),
		auth.Options{MaxAttempts: 5, LockoutTTL: time.Minute, UserCacheTTL: time.Second, Now: f.clock.now, DefaultTenant: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Login(ctx, actor("192.0.2.2"), "operator", "wrong"); !errs.Is(err, errs.CodeInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if got := costOf(); got != 4 {
		t.Fatalf("cost after a failed login = %d, want 4", got)
	}
	if _, err := svc.Login(ctx, actor("192.0.2.2"), "operator", "operator123"); err != nil {
		t.Fatal(err)
	}
	if got := costOf(); got != 5 {
		t.Errorf("cost after a successful login = %d, want 5", got)
	}
	if _, err := svc.Login(ctx, actor("192.0.2.3"), "operator", "operator123"); err != nil {
		t.Errorf("login with the rehashed password: %v", err)
	}
	if after := f.user(t, "operator"); !after.PasswordChangedAt.Equal(before.PasswordChangedAt) {
		t.Errorf("password_changed_at moved from %v to %v", before.PasswordChangedAt, after.PasswordChangedAt)
	}
	if _, err := svc.Verify(ctx, old.Token); err != nil {
		t.Errorf("a token issued before the rehash: %v", err)
	}
}
