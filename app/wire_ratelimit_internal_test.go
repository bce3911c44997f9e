package app

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golden-architecture/control-plane/config"
)

// TestRateLimitScopesAreTheirVariables: every RATE_LIMIT_<SCOPE> variable
// sets the limit of the scope named <scope> (a role or a route scope), the
// name the 429 answer, the X-RateLimit-Scope header and the metric label use,
// and every scope has its variable.
func TestRateLimitScopesAreTheirVariables(t *testing.T) {
	notRates := []string{"RATE_LIMIT_PREFIX", "RATE_LIMIT_STORAGE_URI", "RATE_LIMIT_FAIL_MODE"}
	var vars []string
	if _, err := config.Load(func(name string) string {
		if strings.HasPrefix(name, "RATE_LIMIT_") && !slices.Contains(notRates, name) && !strings.HasSuffix(name, "_FILE") {
			vars = append(vars, name)
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	defaults := rateLimitOptions(mustLoad(t, nil))
	scopes := rateLimitScopes(defaults)
	if len(vars) != len(scopes) {
		t.Errorf("RATE_LIMIT_* rate variables %v, scopes %v: want one variable per scope", vars, scopes)
	}
	for _, name := range vars {
		scope := strings.ToLower(strings.TrimPrefix(name, "RATE_LIMIT_"))
		t.Run(name, func(t *testing.T) {
			if !slices.Contains(scopes, scope) {
				t.Fatalf("%s sets no scope named %q; scopes are %v", name, scope, scopes)
			}
			opts := rateLimitOptions(mustLoad(t, map[string]string{name: "7-H"}))
			for _, other := range scopes {
				got := opts.Roles[other]
				if s, ok := opts.Scopes[other]; ok {
					got = s.Rate
				}
				changed := got.Limit == 7 && got.Period == time.Hour
				if changed != (other == scope) {
					t.Errorf("%s=7-H: scope %s = %d per %s", name, other, got.Limit, got.Period)
				}
			}
		})
	}
}

func mustLoad(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.Load(func(name string) string { return env[name] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
