package ratelimit

// The route scopes the router attaches with RouteLimiter.Scope.
const (
	ScopeLogin         = "login"
	ScopeBudgetRequest = "budget_request"
	ScopeBreakerReset  = "breaker_reset"
	ScopeHealth        = "health"
)

// UserKey is the counter key of a caller with a verified token.
func UserKey(sub string) string { return "user:" + sub }

// IPKey is the counter key of a caller without one.
func IPKey(ip string) string { return "ip:" + ip }
