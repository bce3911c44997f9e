package ratelimit

// The route scopes the router attaches with RouteLimiter.Scope.
const (
	ScopeLogin         = "login"
	ScopeBudgetRequest = "budget_request"
	ScopeBreakerReset  = "breaker_reset"
	ScopeHealth        = "health"
	// ScopeAPIKey is the scope of an API key's own rate limit, which
	// replaces its role's (DESIGN §7).
	ScopeAPIKey = "api_key"
)

// UserKey is the counter key of a caller with a verified token.
func UserKey(sub string) string { return "user:" + sub }

// APIKeyKey is the counter key of an API key: every request made with the
// key counts, whichever replica serves it.
func APIKeyKey(id string) string { return "key:" + id }

// IPKey is the counter key of a caller without one.
func IPKey(ip string) string { return "ip:" + ip }
