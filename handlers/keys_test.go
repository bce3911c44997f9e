package handlers_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/auth"
)

// keyCreated is the answer of POST /keys and /keys/{id}/rotate.
type keyCreated struct {
	ID                string  `json:"id"`
	Name              string  `json:"name"`
	Role              string  `json:"role"`
	TenantID          *string `json:"tenant_id"`
	ProjectID         *string `json:"project_id"`
	Prefix            string  `json:"prefix"`
	LastFour          string  `json:"last_four"`
	RateLimit         *string `json:"rate_limit"`
	Status            string  `json:"status"`
	CreatedBy         string  `json:"created_by"`
	RevokedAt         *string `json:"revoked_at"`
	RotatedAt         *string `json:"rotated_at"`
	PreviousExpiresAt *string `json:"previous_expires_at"`
	ExpiresAt         *string `json:"expires_at"`
	LastUsedAt        *string `json:"last_used_at"`
	Secret            string  `json:"secret"`
}

// secretPattern is "gak_" and 32 random bytes in base62.
var secretPattern = regexp.MustCompile(`^gak_[0-9A-Za-z]{43}$`)

// createKey creates a key as token and returns it with its secret.
func createKey(t testing.TB, c *testenv.Client, token string, body map[string]any) keyCreated {
	t.Helper()
	var k keyCreated
	c.Post(t, "/api/v1/keys", token, body).WantStatus(t, http.StatusCreated).JSON(t, &k)
	return k
}

// withKey sends req with the API key as a bearer token (header "") or in
// X-API-Key.
func withKey(c *testenv.Client, t testing.TB, req testenv.Request, secret, header string) *testenv.Response {
	t.Helper()
	if header == "" {
		req.Token = secret
	} else {
		req.Header = map[string]string{header: secret}
	}
	return c.Send(t, req)
}

func me(t testing.TB, c *testenv.Client, secret, header string) *testenv.Response {
	t.Helper()
	return withKey(c, t, testenv.Request{Method: http.MethodGet, Path: "/api/v1/auth/me"}, secret, header)
}

func keyRow(t testing.TB, srv *testenv.Server, id string) models.APIKey {
	t.Helper()
	var row models.APIKey
	if err := srv.App.DB().DB.Where("id = ?", id).Take(&row).Error; err != nil {
		t.Fatalf("read key %s: %v", id, err)
	}
	return row
}

// TestKeyLifeCycle: create → use (Bearer and X-API-Key) → rotate with grace
// (both secrets work, then only the new one) → revoke (401 at once), with
// the stored row and the audit entries checked at each step.
func TestKeyLifeCycle(t *testing.T) {
	srv := testenv.Quick(t)
	operator := srv.Token(t, "operator") // bound to tenant default
	k := createKey(t, srv.Client, operator, map[string]any{
		"name": "ci", "role": "developer", "project_id": "support-bot", "rate_limit": "600-M",
	})
	if !secretPattern.MatchString(k.Secret) || k.Prefix != k.Secret[:8] || k.LastFour != k.Secret[len(k.Secret)-4:] {
		t.Fatalf("secret %q prefix %q last four %q: want gak_ + 43 base62, its first 8 and last 4", k.Secret, k.Prefix, k.LastFour)
	}
	if k.Role != "developer" || k.TenantID == nil || *k.TenantID != "default" || k.ProjectID == nil || *k.ProjectID != "support-bot" ||
		k.RateLimit == nil || *k.RateLimit != "600-M" || k.Status != "active" {
		t.Errorf("created key = %+v", k)
	}
	row := keyRow(t, srv, k.ID)
	sum := sha256.Sum256([]byte(k.Secret))
	if row.SecretHash != hex.EncodeToString(sum[:]) || row.CreatedBy == "" || row.LastUsedAt != nil {
		t.Errorf("stored key = %+v; want the secret's SHA-256, its creator, never used", row)
	}
	if audits := auditRows(t, srv, "key.create"); len(audits) != 1 || audits[0].ResourceID != k.ID ||
		audits[0].Details["name"] != "ci" || audits[0].Details["role"] != "developer" || audits[0].TenantID != "default" {
		t.Errorf("key.create audit = %+v", audits)
	} else if _, leaked := audits[0].Details["secret"]; leaked {
		t.Errorf("the audit entry holds the secret")
	}
	// The list and the key never show the secret.
	for _, r := range []*testenv.Response{srv.Get(t, "/api/v1/keys", operator), srv.Get(t, "/api/v1/keys/"+k.ID, operator)} {
		r.WantStatus(t, http.StatusOK)
		if regexp.MustCompile(`gak_[0-9A-Za-z]{20,}`).Match(r.Body) {
			t.Errorf("a key listing shows a secret: %s", r.Body)
		}
	}

	for _, header := range []string{"", "X-API-Key"} {
		m := me(t, srv.Client, k.Secret, header).WantStatus(t, http.StatusOK).Map(t)
		if m["principal_id"] != "key:"+k.ID || m["key_id"] != k.ID || m["role"] != "developer" || m["tenant_id"] != "default" ||
			m["user_id"] != row.CreatedBy || m["username"] != "operator" || m["expires_at"] != nil {
			t.Errorf("/auth/me with the key in %q = %v", header, m)
		}
	}
	// The key acts: a developer may reserve in its tenant, and the
	// reservation is the key's.
	res := withKey(srv.Client, t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/budget/request",
		Body: budgetRequestBody("default", 10)}, k.Secret, "").WantStatus(t, http.StatusOK).Map(t)
	var reservation models.BudgetReservation
	if err := srv.App.DB().DB.Where("id = ?", res["reservation_id"]).Take(&reservation).Error; err != nil {
		t.Fatal(err)
	}
	if reservation.PrincipalID == nil || *reservation.PrincipalID != "key:"+k.ID {
		t.Errorf("reservation principal = %v, want key:%s", reservation.PrincipalID, k.ID)
	}
	// ... but not beyond its role, nor in another tenant.
	withKey(srv.Client, t, testenv.Request{Method: http.MethodGet, Path: "/api/v1/keys"}, k.Secret, "").
		WantError(t, http.StatusForbidden, "auth.forbidden")
	withKey(srv.Client, t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/budget/request",
		Body: budgetRequestBody("globex", 10)}, k.Secret, "X-API-Key").WantError(t, http.StatusNotFound, "resource.not_found")
	if used := keyRow(t, srv, k.ID).LastUsedAt; used == nil {
		t.Errorf("last_used_at is still null after the key was used")
	}
	// An API key does not log out.
	withKey(srv.Client, t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/auth/logout"}, k.Secret, "").
		WantError(t, http.StatusBadRequest, "validation.invalid_request")

	// Rotation with a grace period: both secrets work until it ends.
	var rotated keyCreated
	srv.Post(t, "/api/v1/keys/"+k.ID+"/rotate", operator, map[string]any{"grace_seconds": 1}).
		WantStatus(t, http.StatusOK).JSON(t, &rotated)
	if rotated.ID != k.ID || rotated.Secret == k.Secret || !secretPattern.MatchString(rotated.Secret) ||
		rotated.RotatedAt == nil || rotated.PreviousExpiresAt == nil || rotated.LastFour != rotated.Secret[len(rotated.Secret)-4:] {
		t.Fatalf("rotated = %+v", rotated)
	}
	me(t, srv.Client, rotated.Secret, "").WantStatus(t, http.StatusOK)
	stored := keyRow(t, srv, k.ID)
	if stored.PreviousSecretHash == nil || *stored.PreviousSecretHash != row.SecretHash || stored.SecretHash == row.SecretHash {
		t.Errorf("stored after rotation = %+v; want the old hash kept as the previous one", stored)
	}
	if a := auditRows(t, srv, "key.rotate"); len(a) != 1 || a[0].ResourceID != k.ID || a[0].Details["grace_seconds"] != float64(1) ||
		a[0].Details["old_last_four"] != k.LastFour {
		t.Errorf("key.rotate audit = %+v", a)
	}
	// The grace ends one second after the rotation.
	testenv.Wait(t, 10*time.Second, "the old secret to stop after its grace", func() bool {
		return me(t, srv.Client, k.Secret, "").Status == http.StatusUnauthorized
	})
	me(t, srv.Client, k.Secret, "X-API-Key").WantError(t, http.StatusUnauthorized, "auth.unauthorized")
	me(t, srv.Client, rotated.Secret, "X-API-Key").WantStatus(t, http.StatusOK)

	// Revocation applies at once on the replica that served it.
	var revoked keyCreated
	srv.Send(t, testenv.Request{Method: http.MethodDelete, Path: "/api/v1/keys/" + k.ID, Token: operator}).
		WantStatus(t, http.StatusOK).JSON(t, &revoked)
	if revoked.Status != "revoked" || revoked.RevokedAt == nil {
		t.Errorf("revoked = %+v", revoked)
	}
	for _, header := range []string{"", "X-API-Key"} {
		e := me(t, srv.Client, rotated.Secret, header).WantError(t, http.StatusUnauthorized, "auth.unauthorized")
		if e.Message == "" {
			t.Errorf("401 without a message")
		}
	}
	// Revoking again changes nothing; rotating a revoked key is a conflict.
	srv.Send(t, testenv.Request{Method: http.MethodDelete, Path: "/api/v1/keys/" + k.ID, Token: operator}).WantStatus(t, http.StatusOK)
	srv.Post(t, "/api/v1/keys/"+k.ID+"/rotate", operator, map[string]any{}).WantError(t, http.StatusConflict, "state.conflict")
	if a := auditRows(t, srv, "key.revoke"); len(a) != 1 || a[0].ResourceID != k.ID || a[0].PrincipalID == "" {
		t.Errorf("key.revoke audit = %+v", a)
	}
	if row := keyRow(t, srv, k.ID); row.RevokedAt == nil {
		t.Errorf("revoked_at not stored")
	}
}

// TestKeyCreateRules: the role of a key is at most its creator's, a
// platform key is an admin key of a platform principal, and the fields are
// validated.
func TestKeyCreateRules(t *testing.T) {
	srv := testenv.Quick(t)
	admin, operator := srv.Token(t, "admin"), srv.Token(t, "operator")
	for _, role := range []string{"admin"} {
		e := srv.Post(t, "/api/v1/keys", operator, map[string]any{"name": "x", "role": role}).
			WantError(t, http.StatusForbidden, "auth.forbidden")
		if e.Details["key_role"] != role || e.Details["role"] != "operator" {
			t.Errorf("escalation 403 details = %v", e.Details)
		}
	}
	for _, role := range []string{"operator", "developer", "observer"} {
		createKey(t, srv.Client, operator, map[string]any{"name": "x", "role": role})
	}
	// An operator key may manage keys of its tenant, but not create or
	// rotate an admin key through them.
	opKey := createKey(t, srv.Client, operator, map[string]any{"name": "op", "role": "operator"})
	withKey(srv.Client, t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/keys",
		Body: map[string]any{"name": "x", "role": "admin"}}, opKey.Secret, "").WantError(t, http.StatusForbidden, "auth.forbidden")
	adminKey := createKey(t, srv.Client, admin, map[string]any{"name": "tenant admin key", "role": "admin", "tenant_id": "default"})
	srv.Post(t, "/api/v1/keys/"+adminKey.ID+"/rotate", operator, map[string]any{}).WantError(t, http.StatusForbidden, "auth.forbidden")
	if a := auditRows(t, srv, "key.rotate"); len(a) != 0 {
		t.Errorf("a refused rotation was audited: %+v", a)
	}

	platform := createKey(t, srv.Client, admin, map[string]any{"name": "platform", "role": "admin"})
	if platform.TenantID != nil {
		t.Errorf("platform key tenant = %v, want null", *platform.TenantID)
	}
	m := me(t, srv.Client, platform.Secret, "").WantStatus(t, http.StatusOK).Map(t)
	if m["tenant_id"] != nil || m["role"] != "admin" || m["key_id"] != platform.ID {
		t.Errorf("platform key /auth/me = %v", m)
	}
	for name, body := range map[string]map[string]any{
		"a platform key that is not admin": {"name": "x", "role": "operator"},
		"a tenant that does not exist":     {"name": "x", "role": "observer", "tenant_id": "nowhere"},
		"a blank name":                     {"name": " ", "role": "observer", "tenant_id": "default"},
		"an unknown role":                  {"name": "x", "role": "root", "tenant_id": "default"},
		"a bad rate":                       {"name": "x", "role": "observer", "tenant_id": "default", "rate_limit": "fast"},
		"a zero rate":                      {"name": "x", "role": "observer", "tenant_id": "default", "rate_limit": "0-M"},
		"an expiry in the past":            {"name": "x", "role": "observer", "tenant_id": "default", "expires_at": "2020-01-01T00:00:00Z"},
	} {
		t.Run(name, func(t *testing.T) {
			srv.Post(t, "/api/v1/keys", admin, body).WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
		})
	}
	srv.Post(t, "/api/v1/keys/"+adminKey.ID+"/rotate", admin, map[string]any{"grace_seconds": 604801}).
		WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	// A key that expired is refused.
	expiring := createKey(t, srv.Client, admin, map[string]any{"name": "short", "role": "observer", "tenant_id": "default",
		"expires_at": time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)})
	if m := me(t, srv.Client, expiring.Secret, "").WantStatus(t, http.StatusOK).Map(t); expiring.ExpiresAt == nil || m["expires_at"] != *expiring.ExpiresAt {
		t.Errorf("/auth/me expires_at = %v, want the key's %v", m["expires_at"], expiring.ExpiresAt)
	}
	testenv.Wait(t, 10*time.Second, "the key to expire", func() bool {
		return me(t, srv.Client, expiring.Secret, "").Status == http.StatusUnauthorized
	})
	srv.Post(t, "/api/v1/keys/"+expiring.ID+"/rotate", admin, map[string]any{}).WantError(t, http.StatusConflict, "state.conflict")
	// Nonsense in either header is 401, never a 500.
	for _, secret := range []string{"gak_", "gak_nope", "gak_" + strings.Repeat("A", 43)} {
		me(t, srv.Client, secret, "").WantError(t, http.StatusUnauthorized, "auth.unauthorized")
		me(t, srv.Client, secret, "X-API-Key").WantError(t, http.StatusUnauthorized, "auth.unauthorized")
	}
	// X-API-Key takes API keys only.
	me(t, srv.Client, operator, "X-API-Key").WantError(t, http.StatusUnauthorized, "auth.unauthorized")
}

// TestKeyOfDisabledUser: disabling the user who created a key refuses the
// key (within the 1 s check cache), and enabling it lets the key in again;
// a creator who lost the key's role lowers the key's role with it.
func TestKeyOfDisabledUser(t *testing.T) {
	srv := testenv.Quick(t)
	operator := srv.Token(t, "operator")
	k := createKey(t, srv.Client, operator, map[string]any{"name": "ci", "role": "operator"})
	me(t, srv.Client, k.Secret, "").WantStatus(t, http.StatusOK)
	db := srv.App.DB().DB
	set := func(col string, v any) {
		t.Helper()
		if err := db.Model(&models.User{}).Where("username = ?", "operator").Update(col, v).Error; err != nil {
			t.Fatal(err)
		}
	}
	set("disabled", true)
	testenv.Wait(t, 5*time.Second, "the disabled creator's key to be refused", func() bool {
		return me(t, srv.Client, k.Secret, "X-API-Key").Status == http.StatusUnauthorized
	})
	withKey(srv.Client, t, testenv.Request{Method: http.MethodGet, Path: "/api/v1/budget/reservations"}, k.Secret, "").
		WantError(t, http.StatusUnauthorized, "auth.unauthorized")
	set("disabled", false)
	testenv.Wait(t, 5*time.Second, "the key to work again", func() bool {
		return me(t, srv.Client, k.Secret, "").Status == http.StatusOK
	})
	set("role", string(auth.RoleDeveloper))
	testenv.Wait(t, 5*time.Second, "the key to act as its demoted creator", func() bool {
		return me(t, srv.Client, k.Secret, "").Map(t)["role"] == "developer"
	})
	withKey(srv.Client, t, testenv.Request{Method: http.MethodGet, Path: "/api/v1/keys"}, k.Secret, "").
		WantError(t, http.StatusForbidden, "auth.forbidden")
}

// TestKeyTenantIsolation: the key routes of one tenant never show or touch
// another tenant's keys: 404 as for a key that does not exist, nothing
// changed. A platform principal sees and manages every key.
func TestKeyTenantIsolation(t *testing.T) {
	srv := testenv.Quick(t)
	admin := srv.Token(t, "admin")
	ensureTenant(t, srv, "globex")
	operator := srv.Token(t, "operator") // tenant default
	globexOperator := addUser(t, srv, "globex-op", auth.RoleOperator, "globex")
	globexAdmin := addUser(t, srv, "globex-admin", auth.RoleAdmin, "globex")
	theirs := createKey(t, srv.Client, globexOperator, map[string]any{"name": "theirs", "role": "developer"})
	ours := createKey(t, srv.Client, operator, map[string]any{"name": "ours", "role": "developer"})
	if theirs.TenantID == nil || *theirs.TenantID != "globex" {
		t.Fatalf("globex operator's key tenant = %v", theirs.TenantID)
	}
	for _, caller := range []struct{ name, token string }{{"operator of default", operator}} {
		for _, req := range []testenv.Request{
			{Method: http.MethodGet, Path: "/api/v1/keys/" + theirs.ID},
			{Method: http.MethodDelete, Path: "/api/v1/keys/" + theirs.ID},
			{Method: http.MethodPost, Path: "/api/v1/keys/" + theirs.ID + "/rotate", Body: map[string]any{"grace_seconds": 60}},
		} {
			req.Token = caller.token
			e := srv.Send(t, req).WantError(t, http.StatusNotFound, "resource.not_found")
			if e.Message != `api key "`+theirs.ID+`" not found` {
				t.Errorf("%s %s as %s: %q, want the answer of a key that does not exist", req.Method, req.Path, caller.name, e.Message)
			}
		}
		srv.Get(t, "/api/v1/keys?tenant_id=globex", caller.token).WantError(t, http.StatusNotFound, "resource.not_found")
		srv.Post(t, "/api/v1/keys", caller.token, map[string]any{"name": "x", "role": "observer", "tenant_id": "globex"}).
			WantError(t, http.StatusNotFound, "resource.not_found")
		var list struct{ Items []keyCreated }
		srv.Get(t, "/api/v1/keys", caller.token).WantStatus(t, http.StatusOK).JSON(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID != ours.ID {
			t.Errorf("%s lists %+v, want only its own key", caller.name, list.Items)
		}
	}
	if row := keyRow(t, srv, theirs.ID); row.RevokedAt != nil || row.RotatedAt != nil {
		t.Errorf("another tenant's key changed: %+v", row)
	}
	me(t, srv.Client, theirs.Secret, "").WantStatus(t, http.StatusOK)
	// A tenant admin is bound the same way; the platform admin is not.
	srv.Get(t, "/api/v1/keys/"+ours.ID, globexAdmin).WantError(t, http.StatusNotFound, "resource.not_found")
	var all struct{ Items []keyCreated }
	srv.Get(t, "/api/v1/keys", admin).WantStatus(t, http.StatusOK).JSON(t, &all)
	if len(all.Items) != 2 {
		t.Errorf("the platform admin lists %d keys, want 2", len(all.Items))
	}
	srv.Get(t, "/api/v1/keys?tenant_id=globex", admin).WantStatus(t, http.StatusOK).JSON(t, &all)
	if len(all.Items) != 1 || all.Items[0].ID != theirs.ID {
		t.Errorf("the platform admin lists globex's keys as %+v", all.Items)
	}
	srv.Send(t, testenv.Request{Method: http.MethodDelete, Path: "/api/v1/keys/" + theirs.ID, Token: admin}).WantStatus(t, http.StatusOK)
	me(t, srv.Client, theirs.Secret, "").WantError(t, http.StatusUnauthorized, "auth.unauthorized")
}

// TestKeyRevocationReachesReplicas: a key revoked on one replica is refused
// by another within the 1 s check cache. On PostgreSQL the other replica is
// a second server process; on SQLite, which one process owns, a second
// server in this process on the same database file.
func TestKeyRevocationReachesReplicas(t *testing.T) {
	env := testenv.New(t)
	a := env.Start(t)
	var b *testenv.Client
	if env.DatabaseURL != "" {
		url, _ := testenv.StartProcess(t, testenv.BuildBinary(t), map[string]string{
			"DATABASE_URL": env.DatabaseURL, "JWT_SECRET": env.Vars["JWT_SECRET"], "RATE_LIMITS_ENABLED": "false",
			"SEED_DEMO_USERS": "true", "BCRYPT_COST": "4", "LOG_LEVEL": "warn",
		})
		b = testenv.NewClient(url)
	} else {
		b = env.Start(t).Client
	}
	operator := a.Token(t, "operator")
	k := createKey(t, a.Client, operator, map[string]any{"name": "replicated", "role": "observer"})
	// B checked the key and trusts it for up to a second.
	me(t, b, k.Secret, "").WantStatus(t, http.StatusOK)
	a.Send(t, testenv.Request{Method: http.MethodDelete, Path: "/api/v1/keys/" + k.ID, Token: operator}).WantStatus(t, http.StatusOK)
	me(t, a.Client, k.Secret, "").WantError(t, http.StatusUnauthorized, "auth.unauthorized")
	revoked := time.Now()
	testenv.Wait(t, 10*time.Second, "the other replica to refuse the revoked key", func() bool {
		return me(t, b, k.Secret, "X-API-Key").Status == http.StatusUnauthorized
	})
	// The check cache holds a key for 1 s; the wait allows for a slow
	// machine's request, not for a longer cache.
	if took := time.Since(revoked); took > 3*time.Second {
		t.Errorf("the other replica refused the key %s after the revocation, want about 1 s", took)
	}
	me(t, b, k.Secret, "").WantError(t, http.StatusUnauthorized, "auth.unauthorized")
}

// TestKeyRateLimitAcrossReplicas: a key's own limit replaces its role's and
// counts the key's requests on every replica sharing one Redis.
func TestKeyRateLimitAcrossReplicas(t *testing.T) {
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		rs := testenv.NewRedisServer(t)
		rs.Start(t)
		url = rs.URL()
	}
	env := testenv.New(t, "RATE_LIMIT_STORAGE_URI", url, "RATE_LIMIT_DEVELOPER", "100000-M")
	a, b := env.Start(t), env.Start(t)
	operator := a.Token(t, "operator")
	k := createKey(t, a.Client, operator, map[string]any{"name": "limited", "role": "developer", "rate_limit": "4-M"})
	other := createKey(t, a.Client, operator, map[string]any{"name": "role-limited", "role": "developer"})
	passed := 0
	for i := range 10 {
		c := []*testenv.Client{a.Client, b.Client}[i%2]
		r := me(t, c, k.Secret, []string{"", "X-API-Key"}[i%2])
		switch r.Status {
		case http.StatusOK:
			passed++
			if r.Header.Get("X-RateLimit-Scope") != "api_key" || r.Header.Get("X-RateLimit-Limit") != "4" {
				t.Errorf("limit headers %q %q, want scope api_key limit 4", r.Header.Get("X-RateLimit-Scope"), r.Header.Get("X-RateLimit-Limit"))
			}
		case http.StatusTooManyRequests:
			e := r.WantError(t, http.StatusTooManyRequests, "rate_limit.exceeded")
			if e.Details["scope"] != "api_key" || e.Details["limit"] != float64(4) {
				t.Errorf("429 details = %v", e.Details)
			}
		default:
			t.Fatalf("request %d answered %d: %s", i, r.Status, r.Body)
		}
	}
	if passed != 4 {
		t.Errorf("%d of 10 requests of a 4-M key across two replicas passed, want 4", passed)
	}
	// A key without a limit of its own has its role's, counted per key.
	r := me(t, b.Client, other.Secret, "").WantStatus(t, http.StatusOK)
	if r.Header.Get("X-RateLimit-Scope") != "developer" || r.Header.Get("X-RateLimit-Remaining") != "99999" {
		t.Errorf("role-limited key: scope %q remaining %q, want developer 99999", r.Header.Get("X-RateLimit-Scope"), r.Header.Get("X-RateLimit-Remaining"))
	}
}
