package handlers_test

import (
	"net/http"
	"testing"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// TestDatabaseOutageKeepsIdentity: while the database is unreachable a
// token cannot be checked (the account is read on every verification). The
// caller is answered 503 service.unavailable with Retry-After, never 401
// (its token is fine) and never treated as anonymous: the per-IP anonymous
// limit, shared by every client behind one NAT, is not counted.
func TestDatabaseOutageKeepsIdentity(t *testing.T) {
	t.Parallel()
	srv := testenv.Quick(t, "RATE_LIMIT_ANONYMOUS", "2-M")
	tokens := map[string]string{}
	for _, role := range []string{"admin", "operator", "observer"} {
		tokens[role] = srv.Token(t, role)
	}
	if err := srv.App.DB().Close(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		for role, token := range tokens {
			for _, path := range []string{"/api/v1/auth/me", "/api/v1/budget/state?project_id=p", "/api/v1/circuit-breakers"} {
				res := srv.Get(t, path, token)
				res.WantError(t, http.StatusServiceUnavailable, "service.unavailable")
				if res.Header.Get("Retry-After") == "" {
					t.Errorf("%s as %s: 503 without Retry-After", path, role)
				}
				if res.Header.Get("X-RateLimit-Scope") == "anonymous" {
					t.Errorf("%s as %s: counted against the anonymous limit", path, role)
				}
			}
		}
	}
	// The anonymous bucket of this IP is untouched: both its requests are
	// answered as anonymous ones (401), not refused (429).
	for i := range 2 {
		res := srv.Get(t, "/api/v1/auth/me", "")
		res.WantError(t, http.StatusUnauthorized, "auth.unauthorized")
		if got := res.Header.Get("X-RateLimit-Remaining"); got != []string{"1", "0"}[i] {
			t.Errorf("anonymous request %d: X-RateLimit-Remaining = %q, want %d", i+1, got, 1-i)
		}
	}
}
