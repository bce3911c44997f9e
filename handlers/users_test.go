package handlers_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
)

// userBody is the answer of the user routes, as a client reads it.
type userBody struct {
	ID                string  `json:"id"`
	Username          string  `json:"username"`
	Role              string  `json:"role"`
	TenantID          *string `json:"tenant_id"`
	Disabled          bool    `json:"disabled"`
	PasswordChangedAt string  `json:"password_changed_at"`
	CreatedAt         string  `json:"created_at"`
	UpdatedAt         string  `json:"updated_at"`
}

// usersServer is a server with tenant acme and a logged-in platform admin.
type usersServer struct {
	*testenv.Server
	admin string
}

func newUsersServer(t *testing.T, kv ...string) *usersServer {
	t.Helper()
	s := &usersServer{Server: testenv.Quick(t, kv...)}
	ensureTenant(t, s.Server, "acme")
	s.admin = s.Token(t, "admin")
	return s
}

func (s *usersServer) create(t *testing.T, body map[string]any) *testenv.Response {
	t.Helper()
	return s.Post(t, "/api/v1/users", s.admin, body)
}

func (s *usersServer) patch(t *testing.T, id string, body any) *testenv.Response {
	t.Helper()
	return s.Send(t, testenv.Request{Method: http.MethodPatch, Path: "/api/v1/users/" + id, Token: s.admin, Body: body})
}

// me answers GET /auth/me with token.
func (s *usersServer) me(t *testing.T, token string) *testenv.Response {
	t.Helper()
	return s.Get(t, "/api/v1/auth/me", token)
}

// row reads the stored account.
func (s *usersServer) row(t *testing.T, id string) models.User {
	t.Helper()
	var u models.User
	if err := s.App.DB().DB.Where("id = ?", id).Take(&u).Error; err != nil {
		t.Fatalf("read user %s: %v", id, err)
	}
	return u
}

// auditOf returns the audit entries of action on resource id, oldest first.
func auditOf(t *testing.T, db *gorm.DB, action, id string) []models.AuditEntry {
	t.Helper()
	var rows []models.AuditEntry
	if err := db.Where("action = ? AND resource_id = ?", action, id).Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

// wantDetails compares the details of the one audit entry of action on id.
func wantDetails(t *testing.T, db *gorm.DB, action, id string, want map[string]any) models.AuditEntry {
	t.Helper()
	rows := auditOf(t, db, action, id)
	if len(rows) != 1 {
		t.Fatalf("%d %s entries of %s, want 1", len(rows), action, id)
	}
	got := map[string]any{}
	if err := json.Unmarshal(authJSON(t, rows[0].Details), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s details (-want +got):\n%s", action, diff)
	}
	return rows[0]
}

// fieldsOf422 returns the field names of a 422, in order.
func fieldsOf422(t *testing.T, r *testenv.Response) []string {
	t.Helper()
	e := r.WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	var out []string
	list, _ := e.Details["errors"].([]any)
	for _, f := range list {
		m, _ := f.(map[string]any)
		name, _ := m["field"].(string)
		out = append(out, name)
	}
	return out
}

// TestUsersLifeCycle creates an account through the API, lists, shows,
// changes, disables, enables and resets it, checking the answers, the stored
// row, the audit entries of each step (never a password), and that every
// change ends the account's earlier tokens.
func TestUsersLifeCycle(t *testing.T) {
	s := newUsersServer(t)
	db := s.App.DB().DB
	const first, second = "first password 1", "second password 2"

	r := s.create(t, map[string]any{"username": " Alice ", "password": first, "role": "operator", "tenant_id": "acme"}).
		WantStatus(t, http.StatusCreated)
	var keys map[string]any
	r.JSON(t, &keys)
	if got := slices.Sorted(maps.Keys(keys)); !slices.Equal(got, []string{
		"created_at", "disabled", "id", "password_changed_at", "role", "tenant_id", "updated_at", "username"}) {
		t.Errorf("user answer has fields %v; want no password or hash", got)
	}
	var alice userBody
	r.JSON(t, &alice)
	if alice.Username != "alice" || alice.Role != "operator" || alice.TenantID == nil || *alice.TenantID != "acme" || alice.Disabled {
		t.Fatalf("created %+v", alice)
	}
	if row := s.row(t, alice.ID); row.Username != "alice" || row.PasswordHash == first || !strings.HasPrefix(row.PasswordHash, "$2") {
		t.Errorf("stored row %+v; want a bcrypt hash", row)
	}
	wantDetails(t, db, "user.create", alice.ID, map[string]any{"username": "alice", "role": "operator", "tenant_id": "acme"})

	token := s.Login(t, "alice", first)
	s.me(t, token).WantStatus(t, http.StatusOK)

	var page struct {
		Items      []userBody `json:"items"`
		NextCursor *string    `json:"next_cursor"`
	}
	s.Get(t, "/api/v1/users?tenant_id=acme", s.admin).WantStatus(t, http.StatusOK).JSON(t, &page)
	if diff := cmp.Diff([]userBody{alice}, page.Items); diff != "" || page.NextCursor != nil {
		t.Errorf("acme's users (-want +got):\n%s", diff)
	}
	var got userBody
	s.Get(t, "/api/v1/users/"+alice.ID, s.admin).WantStatus(t, http.StatusOK).JSON(t, &got)
	if diff := cmp.Diff(alice, got); diff != "" {
		t.Errorf("GET (-want +got):\n%s", diff)
	}

	// A role change: the answer, the row, the audit entry with before and
	// after, and the earlier token ends at once on this replica.
	s.patch(t, alice.ID, map[string]any{"role": "developer"}).WantStatus(t, http.StatusOK).JSON(t, &got)
	if got.Role != "developer" || *got.TenantID != "acme" {
		t.Errorf("after the role change %+v", got)
	}
	if row := s.row(t, alice.ID); row.Role != "developer" || row.TokensRevokedAt == nil {
		t.Errorf("stored %+v; want developer with tokens_revoked_at", row)
	}
	wantDetails(t, db, "user.update", alice.ID, map[string]any{
		"username": "alice", "before": map[string]any{"role": "operator"}, "after": map[string]any{"role": "developer"},
		"tokens_revoked": true,
	})
	s.me(t, token).WantError(t, http.StatusUnauthorized, "auth.unauthorized")
	token = s.Login(t, "alice", first)
	if role := s.me(t, token).WantStatus(t, http.StatusOK).Map(t)["role"]; role != "developer" {
		t.Errorf("role after logging in again = %v", role)
	}

	// Disabled: tokens and logins refused; enabled again: the old token
	// stays dead, a new login works.
	s.patch(t, alice.ID, map[string]any{"disabled": true}).WantStatus(t, http.StatusOK).JSON(t, &got)
	if !got.Disabled || !s.row(t, alice.ID).Disabled {
		t.Errorf("after disabling %+v", got)
	}
	s.me(t, token).WantError(t, http.StatusUnauthorized, "auth.unauthorized")
	s.Post(t, "/api/v1/auth/login", "", map[string]string{"username": "alice", "password": first}).
		WantError(t, http.StatusUnauthorized, "auth.invalid_credentials")
	s.Get(t, "/api/v1/users?disabled=true", s.admin).WantStatus(t, http.StatusOK).JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != alice.ID {
		t.Errorf("disabled users = %+v; want alice", page.Items)
	}
	s.patch(t, alice.ID, map[string]any{"disabled": false}).WantStatus(t, http.StatusOK)
	s.me(t, token).WantError(t, http.StatusUnauthorized, "auth.unauthorized")
	token = s.Login(t, "alice", first)
	updates := auditOf(t, db, "user.update", alice.ID)
	if len(updates) != 3 {
		t.Fatalf("%d user.update entries, want 3", len(updates))
	}
	if diff := cmp.Diff(map[string]any{"disabled": false}, map[string]any(updates[1].Details["before"].(map[string]any))); diff != "" {
		t.Errorf("disable entry's before (-want +got):\n%s", diff)
	}

	// An admin's password reset: earlier tokens and the old password end.
	s.Post(t, "/api/v1/users/"+alice.ID+"/password", s.admin, map[string]string{"password": second}).
		WantStatus(t, http.StatusOK).JSON(t, &got)
	if got.PasswordChangedAt == alice.PasswordChangedAt {
		t.Errorf("password_changed_at unchanged after a reset: %s", got.PasswordChangedAt)
	}
	wantDetails(t, db, "user.password.reset", alice.ID, map[string]any{"username": "alice"})
	s.me(t, token).WantError(t, http.StatusUnauthorized, "auth.unauthorized")
	s.Post(t, "/api/v1/auth/login", "", map[string]string{"username": "alice", "password": first}).
		WantError(t, http.StatusUnauthorized, "auth.invalid_credentials")
	s.Login(t, "alice", second)

	// Every entry was written by the admin, and none holds a password.
	var all []models.AuditEntry
	if err := db.Where("resource_id = ? AND action LIKE 'user.%'", alice.ID).Find(&all).Error; err != nil {
		t.Fatal(err)
	}
	adminID := s.me(t, s.admin).Map(t)["user_id"]
	for _, e := range all {
		raw := string(authJSON(t, e.Details))
		if strings.Contains(raw, first) || strings.Contains(raw, second) || strings.Contains(raw, "$2") {
			t.Errorf("%s entry holds a password or hash: %s", e.Action, raw)
		}
		if e.UserID != adminID || e.PrincipalID != "user:"+e.UserID {
			t.Errorf("%s entry by %s (%s), want the admin %v", e.Action, e.UserID, e.PrincipalID, adminID)
		}
	}
}

// TestUsersValidation: every invalid field of a new account named in one
// 422, a taken username 409 (whatever its case), bad changes 422, and none of
// them stores or audits anything.
func TestUsersValidation(t *testing.T) {
	s := newUsersServer(t)
	db := s.App.DB().DB
	before := budgetCountRows(t, db, "users", "1=1")
	for _, tt := range []struct {
		name string
		body map[string]any
		want []string
	}{
		{"empty", map[string]any{}, []string{"username", "password", "role"}},
		{"every field wrong", map[string]any{"username": "Bad Name!", "password": "short", "role": "king", "tenant_id": "acme"},
			[]string{"username", "password", "role"}},
		{"a password over 72 bytes", map[string]any{"username": "bob", "password": strings.Repeat("x", 73), "role": "observer", "tenant_id": "acme"},
			[]string{"password"}},
		{"a non-admin without a tenant", map[string]any{"username": "bob", "password": "long enough", "role": "operator"},
			[]string{"tenant_id"}},
		{"an unknown tenant", map[string]any{"username": "bob", "password": "long enough", "role": "operator", "tenant_id": "nowhere"},
			[]string{"tenant_id"}},
		{"a wrong type", map[string]any{"username": "bob", "password": "long enough", "role": 7},
			[]string{"role"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, fieldsOf422(t, s.create(t, tt.body))); diff != "" {
				t.Errorf("fields of the 422 (-want +got):\n%s", diff)
			}
		})
	}
	if n := budgetCountRows(t, db, "users", "1=1"); n != before {
		t.Errorf("refused creates changed the users from %d to %d", before, n)
	}
	if n := budgetCountRows(t, db, "audit_log", "action = 'user.create'"); n != 0 {
		t.Errorf("%d user.create entries after refused creates", n)
	}

	var bob userBody
	s.create(t, map[string]any{"username": "bob", "password": "long enough", "role": "operator", "tenant_id": "acme"}).
		WantStatus(t, http.StatusCreated).JSON(t, &bob)
	e := s.create(t, map[string]any{"username": "BOB", "password": "long enough", "role": "observer", "tenant_id": "acme"}).
		WantError(t, http.StatusConflict, "state.conflict")
	if e.Message != `user "bob" already exists` {
		t.Errorf("409 message %q", e.Message)
	}

	for _, tt := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"an unknown role", map[string]any{"role": "king"}, "role"},
		{"a non-admin made a platform principal", map[string]any{"tenant_id": ""}, "tenant_id"},
		{"an unknown tenant", map[string]any{"tenant_id": "nowhere"}, "tenant_id"},
		{"a wrong type", map[string]any{"disabled": "yes"}, "disabled"},
	} {
		t.Run("PATCH "+tt.name, func(t *testing.T) {
			if diff := cmp.Diff([]string{tt.want}, fieldsOf422(t, s.patch(t, bob.ID, tt.body))); diff != "" {
				t.Errorf("fields of the 422 (-want +got):\n%s", diff)
			}
		})
	}
	// Nothing to change: the account as it is, nothing written.
	var same userBody
	s.patch(t, bob.ID, map[string]any{"role": "operator", "tenant_id": "acme"}).WantStatus(t, http.StatusOK).JSON(t, &same)
	if diff := cmp.Diff(bob, same); diff != "" {
		t.Errorf("a no-op PATCH (-want +got):\n%s", diff)
	}
	if row := s.row(t, bob.ID); row.Role != "operator" || *row.TenantID != "acme" || row.TokensRevokedAt != nil {
		t.Errorf("stored after refused changes: %+v", row)
	}
	if n := budgetCountRows(t, db, "audit_log", "action = 'user.update'"); n != 0 {
		t.Errorf("%d user.update entries after refused and empty changes", n)
	}

	s.patch(t, "00000000-0000-0000-0000-000000000000", map[string]any{"disabled": true}).WantError(t, http.StatusNotFound, "resource.not_found")
	s.Get(t, "/api/v1/users/not-an-id", s.admin).WantError(t, http.StatusNotFound, "resource.not_found")
	s.Post(t, "/api/v1/users/"+bob.ID+"/password", s.admin, map[string]string{"password": "short"}).
		WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	for _, q := range []string{"role=king", "platform=true&tenant_id=acme", "disabled=maybe", "cursor=nope", "limit=-1"} {
		s.Get(t, "/api/v1/users?"+q, s.admin).WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	}
}

// TestUsersListFilters pages through the accounts and filters them by role,
// tenant, platform and disabled.
func TestUsersListFilters(t *testing.T) {
	s := newUsersServer(t)
	for _, u := range []struct{ name, role, tenant string }{
		{"a1", "observer", "acme"}, {"a2", "developer", "acme"}, {"root2", "admin", ""},
	} {
		s.create(t, map[string]any{"username": u.name, "password": "long enough", "role": u.role, "tenant_id": u.tenant}).
			WantStatus(t, http.StatusCreated)
	}
	names := func(q string) []string {
		var out []string
		cursor := ""
		for {
			path := "/api/v1/users?limit=2&" + q
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			var page struct {
				Items      []userBody `json:"items"`
				NextCursor *string    `json:"next_cursor"`
			}
			s.Get(t, path, s.admin).WantStatus(t, http.StatusOK).JSON(t, &page)
			for _, u := range page.Items {
				out = append(out, u.Username)
			}
			if page.NextCursor == nil {
				slices.Sort(out)
				return out
			}
			cursor = *page.NextCursor
		}
	}
	for q, want := range map[string][]string{
		"":                              {"a1", "a2", "admin", "developer", "observer", "operator", "root2"},
		"tenant_id=acme":                {"a1", "a2"},
		"platform=true":                 {"admin", "root2"},
		"role=admin":                    {"admin", "root2"},
		"role=observer":                 {"a1", "observer"},
		"disabled=false":                {"a1", "a2", "admin", "developer", "observer", "operator", "root2"},
		"disabled=true":                 nil,
		"tenant_id=default":             {"developer", "observer", "operator"},
		"tenant_id=nowhere":             nil,
		"role=developer&tenant_id=acme": {"a2"},
	} {
		if diff := cmp.Diff(want, names(q)); diff != "" {
			t.Errorf("users?%s (-want +got):\n%s", q, diff)
		}
	}
}

// TestLastPlatformAdmin: the last enabled platform admin cannot be disabled,
// demoted or bound to a tenant (409, nothing changes); with a second one it
// can, and then the second is the last.
func TestLastPlatformAdmin(t *testing.T) {
	s := newUsersServer(t)
	adminID := s.me(t, s.admin).Map(t)["user_id"].(string)
	for _, body := range []map[string]any{
		{"disabled": true}, {"role": "operator", "tenant_id": "acme"}, {"tenant_id": "acme"},
	} {
		e := s.patch(t, adminID, body).WantError(t, http.StatusConflict, "state.conflict")
		if !strings.Contains(e.Message, "last enabled platform admin") {
			t.Errorf("409 message %q", e.Message)
		}
	}
	if row := s.row(t, adminID); row.Disabled || row.Role != "admin" || row.TenantID != nil {
		t.Fatalf("the last admin changed: %+v", row)
	}
	// A tenant-bound admin does not count: it cannot reach the users API.
	addUser(t, s.Server, "acme-admin", "admin", "acme")
	s.patch(t, adminID, map[string]any{"disabled": true}).WantError(t, http.StatusConflict, "state.conflict")

	var root2 userBody
	s.create(t, map[string]any{"username": "root2", "password": "long enough", "role": "admin"}).
		WantStatus(t, http.StatusCreated).JSON(t, &root2)
	if root2.TenantID != nil {
		t.Fatalf("root2 tenant = %v, want a platform principal", *root2.TenantID)
	}
	s.patch(t, adminID, map[string]any{"tenant_id": "acme"}).WantStatus(t, http.StatusOK)
	root := s.Login(t, "root2", "long enough")
	s.Send(t, testenv.Request{Method: http.MethodPatch, Path: "/api/v1/users/" + root2.ID, Token: root, Body: map[string]any{"disabled": true}}).
		WantError(t, http.StatusConflict, "state.conflict")
	// The admin now bound to acme has lost the platform-level routes.
	s.Get(t, "/api/v1/users", s.Token(t, "admin")).WantError(t, http.StatusForbidden, "auth.forbidden")
}

// TestChangeOwnPassword: a wrong old password is 422 naming old_password and
// changes nothing; the right one answers a new session, ends every earlier
// token of the account (the caller's and another session's, issued in the
// same second) and the old password; wrong guesses are locked out after
// LOGIN_MAX_ATTEMPTS.
func TestChangeOwnPassword(t *testing.T) {
	s := newUsersServer(t, "LOGIN_MAX_ATTEMPTS", "3")
	db := s.App.DB().DB
	addUser(t, s.Server, "dora", "developer", "acme")
	mine, other := s.Login(t, "dora", testPassword), s.Login(t, "dora", testPassword)
	change := func(token, old, next string) *testenv.Response {
		return s.Post(t, "/api/v1/auth/password", token, map[string]string{"old_password": old, "new_password": next})
	}
	const next = "a brand new password"

	if diff := cmp.Diff([]string{"old_password"}, fieldsOf422(t, change(mine, "not my password", next))); diff != "" {
		t.Errorf("wrong old password (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"new_password"}, fieldsOf422(t, change(mine, testPassword, "short"))); diff != "" {
		t.Errorf("short new password (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"new_password"}, fieldsOf422(t, change(mine, testPassword, testPassword))); diff != "" {
		t.Errorf("unchanged password (-want +got):\n%s", diff)
	}
	doraID := s.me(t, mine).WantStatus(t, http.StatusOK).Map(t)["user_id"].(string)
	if n := len(auditOf(t, db, "auth.password.change.fail", doraID)); n != 1 {
		t.Errorf("%d auth.password.change.fail entries, want 1", n)
	}
	before := s.row(t, doraID)

	var session struct {
		Token     string `json:"token"`
		TokenType string `json:"token_type"`
		Role      string `json:"role"`
	}
	change(mine, testPassword, next).WantStatus(t, http.StatusOK).JSON(t, &session)
	if session.Token == "" || session.TokenType != "Bearer" || session.Role != "developer" {
		t.Fatalf("session %+v", session)
	}
	after := s.row(t, doraID)
	if after.PasswordHash == before.PasswordHash || !after.PasswordChangedAt.After(before.PasswordChangedAt) {
		t.Errorf("stored hash or password_changed_at unchanged: %v → %v", before.PasswordChangedAt, after.PasswordChangedAt)
	}
	changes := auditOf(t, db, "auth.password.change", doraID)
	if len(changes) != 1 {
		t.Fatalf("%d auth.password.change entries, want 1", len(changes))
	}
	if d := changes[0].Details; changes[0].UserID != doraID || d["username"] != "dora" || d["token_id"] == "" || len(d) != 2 {
		t.Errorf("auth.password.change entry by %s with %v; want dora's, with username and the token_id used", changes[0].UserID, d)
	}
	for name, token := range map[string]string{"the caller's token": mine, "another session": other} {
		if r := s.me(t, token); r.Status != http.StatusUnauthorized {
			t.Errorf("%s after the change answered %d, want 401", name, r.Status)
		}
	}
	s.me(t, session.Token).WantStatus(t, http.StatusOK)
	s.Post(t, "/api/v1/auth/login", "", map[string]string{"username": "dora", "password": testPassword}).
		WantError(t, http.StatusUnauthorized, "auth.invalid_credentials")
	fresh := s.Login(t, "dora", next)

	// Guessing with a valid token: LOGIN_MAX_ATTEMPTS (3) wrong answers, then
	// 429 even for the right password until the window ends.
	for range 3 {
		change(fresh, "a wrong guess", "whatever else 1").WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	}
	r := change(fresh, next, "whatever else 1").WantStatus(t, http.StatusTooManyRequests)
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	if s.row(t, doraID).PasswordHash != after.PasswordHash {
		t.Errorf("a locked-out change changed the password")
	}
}

// TestUserDisableReachesOtherReplica: an account disabled through one
// replica is refused by another within the 1 s of its user cache — two
// server processes on PostgreSQL (TEST_DATABASE_URL), two servers of their
// own in this process on SQLite (each with its own caches, one database).
func TestUserDisableReachesOtherReplica(t *testing.T) {
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
	s := &usersServer{Server: a, admin: a.Token(t, "admin")}
	for _, change := range []struct {
		name string
		body map[string]any
	}{
		{"disabled", map[string]any{"disabled": true}},
		{"moved to another tenant", map[string]any{"tenant_id": "default"}},
	} {
		t.Run(change.name, func(t *testing.T) {
			name := strings.ReplaceAll(change.name, " ", "-")
			var u userBody
			ensureTenant(t, a, "acme")
			s.create(t, map[string]any{"username": name, "password": "long enough", "role": "operator", "tenant_id": "acme"}).
				WantStatus(t, http.StatusCreated).JSON(t, &u)
			token := b.Login(t, name, "long enough")
			// Both replicas know the account now (and cache it).
			b.Get(t, "/api/v1/auth/me", token).WantStatus(t, http.StatusOK)
			a.Get(t, "/api/v1/auth/me", token).WantStatus(t, http.StatusOK)

			s.patch(t, u.ID, change.body).WantStatus(t, http.StatusOK)
			a.Get(t, "/api/v1/auth/me", token).WantError(t, http.StatusUnauthorized, "auth.unauthorized")
			// The other replica's copy of the account is at most 1 s old.
			time.Sleep(time.Second)
			b.Get(t, "/api/v1/auth/me", token).WantError(t, http.StatusUnauthorized, "auth.unauthorized")
		})
	}
}
