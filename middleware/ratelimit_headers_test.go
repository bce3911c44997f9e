package middleware

import (
	"net/textproto"
	"testing"
)

// TestRateLimitHeadersCanonical: the header names set directly are those
// http.Header.Set would have made of the documented X-RateLimit-* names.
func TestRateLimitHeadersCanonical(t *testing.T) {
	for documented, set := range map[string]string{
		"X-RateLimit-Scope": headerScope, "X-RateLimit-Limit": headerLimit,
		"X-RateLimit-Remaining": headerRemaining, "X-RateLimit-Reset": headerReset,
	} {
		if got := textproto.CanonicalMIMEHeaderKey(documented); got != set {
			t.Errorf("canonical form of %s = %q, set as %q", documented, got, set)
		}
	}
}
