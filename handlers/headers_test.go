package handlers_test

import (
	"net/http"
	"testing"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// TestSecurityHeaders: every /api/v1 answer, whatever produced it (a login
// with its token, a handler, the authentication, validation, an unknown
// route, a wrong method), carries Cache-Control: no-store, Pragma: no-cache
// and X-Content-Type-Options: nosniff; the JWKS document keeps its own
// caching and gets nosniff. (TestSpecFuzz checks every answer it gets too.)
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	srv := testenv.Quick(t)
	admin := srv.Token(t, "admin")
	api := []struct {
		name string
		req  testenv.Request
		want int
	}{
		{"a login", testenv.Request{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: map[string]string{"username": "admin", "password": "admin123"}}, http.StatusOK},
		{"a failed login", testenv.Request{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: map[string]string{"username": "admin", "password": "nope"}}, http.StatusUnauthorized},
		{"who am I", testenv.Request{Method: http.MethodGet, Path: "/api/v1/auth/me", Token: admin}, http.StatusOK},
		{"no token", testenv.Request{Method: http.MethodGet, Path: "/api/v1/auth/me"}, http.StatusUnauthorized},
		{"a bad filter", testenv.Request{Method: http.MethodGet, Path: "/api/v1/audit?action=%00", Token: admin}, http.StatusUnprocessableEntity},
		{"an unknown route", testenv.Request{Method: http.MethodGet, Path: "/api/v1/nothing-here", Token: admin}, http.StatusNotFound},
		{"a wrong method", testenv.Request{Method: http.MethodDelete, Path: "/api/v1/auth/me", Token: admin}, http.StatusMethodNotAllowed},
	}
	for _, tc := range api {
		res := srv.Send(t, tc.req)
		if res.Status != tc.want {
			t.Errorf("%s: status %d, want %d; body %s", tc.name, res.Status, tc.want, res.Body)
		}
		for h, want := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache", "X-Content-Type-Options": "nosniff"} {
			if got := res.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", tc.name, h, got, want)
			}
		}
	}
	jwks := srv.Get(t, "/.well-known/jwks.json", "").WantStatus(t, http.StatusOK)
	if got := jwks.Header.Get("Cache-Control"); got != "public, max-age=300" {
		t.Errorf("JWKS Cache-Control = %q, want its own public caching", got)
	}
	if got := jwks.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("JWKS X-Content-Type-Options = %q, want nosniff", got)
	}
}
