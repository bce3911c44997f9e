package drills

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
)

// badCase makes one kind of malformed request.
type badCase struct {
	category string
	name     string
	// may2xx explains why this request may be valid by accident (a 2xx is
	// then documented behaviour, not a finding); empty: it must fail.
	may2xx string
	make   func(rng *rand.Rand) rawRequest
	// weight is the relative frequency (default 10).
	weight int
}

// validBudget is a well-formed reservation body the mutators start from.
const validBudget = `{"tenant_id":"fuzz","project_id":"p1","task_id":"t1","model":"m","estimated_tokens":10}`

// jsonTargets are the routes that bind a JSON body.
var jsonTargets = []struct{ method, path string }{
	{http.MethodPost, "/api/v1/budget/request"},
	{http.MethodPost, "/api/v1/budget/commit"},
	{http.MethodPost, "/api/v1/budget/release"},
	{http.MethodPut, "/api/v1/budget/limits"},
	{http.MethodPost, "/api/v1/auth/login"},
	{http.MethodPost, "/api/v1/dlq/0196c0de-0000-7000-8000-000000000001/resolve"},
	{http.MethodPost, "/api/v1/validate/synthesis"},
	{http.MethodPost, "/api/v1/validate/consensus"},
	{http.MethodPost, "/api/v1/validate/patterns"},
}

func jsonTo(rng *rand.Rand, body []byte) rawRequest {
	t := jsonTargets[rng.IntN(len(jsonTargets))]
	return rawRequest{method: t.method, target: t.path, body: body}
}

func pick[T any](rng *rand.Rand, s []T) T { return s[rng.IntN(len(s))] }

var brokenJSON = []string{
	`{`, `}`, `[`, `{"tenant_id":`, `{"tenant_id":"a",}`, `{"a":1}}`, `{"a" 1}`, `nul`, `tru`, `"unterminated`,
	`{"tenant_id":"a\u12"}`, `{"tenant_id":"a\x"}`, `{'tenant_id':'a'}`, `{tenant_id:"a"}`, "\x00\x01\x02", ` `,
	`{"a":NaN}`, `{"a":Infinity}`, `{"a":-}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":"\ud800"}`,
	`{"a":1}{"b":2}`, `[] []`, `{"tenant_id":"a"}garbage`, "{\"a\":\"line\nbreak\"}", `{"a":[1,2,}`, `{,}`,
}

var hugeNumbers = []string{
	"1e400", "-1e400", "99999999999999999999999999999", "-9223372036854775809", "9223372036854775808",
	"1.7976931348623157e309", "0.5", "-0", "0", "-1", "1000000001", "1e9", "1E3", "4.9e-324", "123456789012345678901234567890.5",
}

var wrongTypes = []string{
	`123`, `"x"`, `true`, `null`, `[]`, `{}`, `[{"tenant_id":"a"}]`,
	`{"tenant_id":123,"project_id":"p","task_id":"t","model":"m","estimated_tokens":1}`,
	`{"tenant_id":["a"],"project_id":"p","task_id":"t","model":"m","estimated_tokens":1}`,
	`{"tenant_id":{"a":1},"project_id":"p","task_id":"t","model":"m","estimated_tokens":1}`,
	`{"tenant_id":null,"project_id":"p","task_id":"t","model":"m","estimated_tokens":1}`,
	`{"tenant_id":"a","project_id":"p","task_id":"t","model":"m","estimated_tokens":"10"}`,
	`{"tenant_id":"a","project_id":"p","task_id":"t","model":"m","estimated_tokens":[10]}`,
	`{"tenant_id":"a","project_id":"p","task_id":"t","model":"m","estimated_tokens":true}`,
	`{"tenant_id":"a","project_id":"p","reservation_id":42,"actual_tokens":1}`,
	`{"username":1,"password":2}`, `{"username":"admin","password":["admin123"]}`,
	`{"llm_response":{"a":1}}`, `{"llm_response":123}`, `{"note":false,"requeue":"yes"}`,
	`{"tenant_id":"a","project_id":"p","total_limit":"big"}`,
}

// invalidUTF8 are strings of bytes that are not UTF-8.
var invalidUTF8 = []string{"\xff\xfe", "\xc0\xaf", "\xed\xa0\x80", "a\x80b", "\xf8\x88\x80\x80\x80", "\xe2\x82", "\xfe"}

// Reasons a path trick may be answered 2xx: the router cleans the path
// before matching it, and the matched route's own authentication and
// permissions still apply (the drill sends some tricks without a token).
const (
	dotSegments  = "dot segments are removed before routing (RFC 3986 §5.2.4); the route's own auth still applies"
	extraSlashes = "repeated slashes are treated as one (gin RemoveExtraSlash)"
	decodedSlash = "%2F is decoded before routing (gin UseRawPath off)"
)

// pathTricks are request targets; public marks a trick that resolves to a
// route anyone may call, so it may be 2xx without a token too.
var pathTricks = []struct {
	target, may2xx string
	public         bool
}{
	{"/api/v1/../api/v1/auth/me", dotSegments, false},
	{"/api/v1/./auth/me", dotSegments, false},
	{"/api/v1/auth/me/", "", false},
	{"/api/v1/auth/me/.", "", false},
	{"//api//v1//auth//me", extraSlashes, false},
	{"/API/V1/AUTH/ME", "", false},
	{"/api/v1/auth/me%2F", "", false},
	{"/api/v1/auth%2Fme", decodedSlash, false},
	{"/api/v1/dlq/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "", false},
	{"/api/v1/dlq/..%2f..%2fadmin%2fconfig", "", false},
	{"/api/v1/dlq/../admin/config", dotSegments, false},
	{"/api/v1/dlq/%00", "", false},
	{"/api/v1/dlq/not-a-uuid", "", false},
	{"/api/v1/dlq/0196c0de-0000-7000-8000-000000000001%00", "", false},
	{"/api/v1/dlq/%ff%fe", "", false},
	{"/api/v1/budget/state?tenant_id=a&tenant_id=b&project_id=p", "repeated query parameters: the first one is used", false},
	{"/api/v1/budget/state?tenant_id=%ff&project_id=p", "", false},
	{"/api/v1/budget/state?tenant_id=%00&project_id=p", "", false},
	{"/api/v1/budget/state?tenant_id=a%20b&project_id=p", "", false}, // not a tenant slug: 422
	{"/api/v1/budget/state?tenant_id=" + strings.Repeat("a", 4000) + "&project_id=p", "", false},
	{"/api/v1/budget/reservations?limit=1e99", "", false},
	{"/api/v1/budget/reservations?limit=-1", "", false},
	{"/api/v1/budget/reservations?limit=99999999999999999999", "", false},
	{"/api/v1/budget/reservations?status=pending%27%20OR%201=1--", "", false},
	{"/api/v1/budget/reservations?cursor=%7B%22t%22%3A1%7D", "", false},
	{"/api/v1/budget/reservations?cursor=" + strings.Repeat("A", 600), "", false},
	{"/api/v1/dlq?since=yesterday", "", false},
	{"/api/v1/dlq?limit=abc", "", false},
	{"/api/v1/dlq?subject=a..b", "", false},
	{"/api/v1/audit?limit=0", "limit=0 is the absent limit: the default page size", false},
	{"/" + strings.Repeat("a/", 3000), "", false},
	{"/api/v1/" + strings.Repeat("%2e%2e/", 200), dotSegments + " (this one resolves to GET /)", true},
	{"/api/v1/auth/me?" + strings.Repeat("x=1&", 2000), "query parameters the route does not read are ignored", false},
	{"/api/v1/auth/me#fragment", "a fragment in the request target is not part of the path", false},
	{"/api/v1/auth/me;jsessionid=1", "", false},
	{"/api/v1\\auth\\me", "", false},
	{"/health/../api/v1/admin/config", dotSegments, false},
	{"/health/live/../ready", dotSegments + " (GET /health/ready)", true},
	{"/docs/../../etc/passwd", "", false},
	{"/.well-known/../api/v1/auth/me", dotSegments, false},
}

// requestIDInjections are X-Request-ID values a client must not get echoed.
var requestIDInjections = []string{
	"abc\r\nX-Injected: 1", "abc%0d%0aX-Injected:%201", "<script>alert(1)</script>", "a b", "../../etc/passwd",
	strings.Repeat("a", 129), strings.Repeat("b", 10000), "\xff\xfe", "ü", "id;drop table audit_log", `"quoted"`,
	"abc\x00def", "abc\x7fdef", "abc\tdef", "", "{}", "${jndi:ldap://x}", "a/b",
}

// badCases are the drill's generators.
func badCases() []badCase {
	return []badCase{
		{category: "broken JSON", name: "fixed list", make: func(rng *rand.Rand) rawRequest {
			return jsonTo(rng, []byte(pick(rng, brokenJSON)))
		}},
		{category: "broken JSON", name: "truncated", make: func(rng *rand.Rand) rawRequest {
			return jsonTo(rng, []byte(validBudget[:rng.IntN(len(validBudget)-1)]))
		}},
		{category: "broken JSON", name: "flipped byte", may2xx: "a flip that leaves valid JSON (checked per request)",
			make: func(rng *rand.Rand) rawRequest {
				b := []byte(validBudget)
				b[rng.IntN(len(b))] = byte(rng.IntN(256))
				return jsonTo(rng, b)
			}},
		{category: "broken JSON", name: "deep nesting", make: func(rng *rand.Rand) rawRequest {
			depth := 1000 + rng.IntN(20000)
			return jsonTo(rng, []byte(strings.Repeat("[", depth)+strings.Repeat("]", depth)))
		}},
		{category: "huge numbers", name: "estimated/actual/total", make: func(rng *rand.Rand) rawRequest {
			n := pick(rng, hugeNumbers)
			switch rng.IntN(3) {
			case 0:
				return rawRequest{method: http.MethodPost, target: "/api/v1/budget/request",
					body: fmt.Appendf(nil, `{"tenant_id":"fuzz","project_id":"p1","task_id":"t","model":"m","estimated_tokens":%s}`, n)}
			case 1:
				return rawRequest{method: http.MethodPost, target: "/api/v1/budget/commit",
					body: fmt.Appendf(nil, `{"tenant_id":"fuzz","project_id":"p1","reservation_id":"0196c0de-0000-7000-8000-000000000001","actual_tokens":%s}`, n)}
			default:
				return rawRequest{method: http.MethodPut, target: "/api/v1/budget/limits",
					body: fmt.Appendf(nil, `{"tenant_id":"fuzz","project_id":"p%d","total_limit":%s}`, rng.IntN(5), n)}
			}
		}, may2xx: "an in-range number is a valid reservation or limit (checked per request)"},
		{category: "wrong types", name: "fixed list", make: func(rng *rand.Rand) rawRequest {
			return jsonTo(rng, []byte(pick(rng, wrongTypes)))
		}},
		{category: "2 MiB bodies", name: "Content-Length", weight: 1, make: func(rng *rand.Rand) rawRequest {
			return jsonTo(rng, bytes.Repeat([]byte("a"), 2<<20))
		}},
		{category: "2 MiB bodies", name: "chunked", weight: 1, make: func(rng *rand.Rand) rawRequest {
			r := jsonTo(rng, append(append([]byte(`{"llm_response":"`), bytes.Repeat([]byte("x"), 2<<20)...), `"}`...))
			r.chunked = true
			return r
		}},
		{category: "2 MiB bodies", name: "string field", weight: 1, make: func(rng *rand.Rand) rawRequest {
			return rawRequest{method: http.MethodPost, target: "/api/v1/budget/request",
				body: fmt.Appendf(nil, `{"tenant_id":"fuzz","project_id":"p1","task_id":"t","model":"m","estimated_tokens":1,"purpose":"%s"}`,
					strings.Repeat("p", 2<<20))}
		}},
		{category: "invalid UTF-8", name: "in JSON strings", make: func(rng *rand.Rand) rawRequest {
			bad := pick(rng, invalidUTF8)
			bodies := []string{
				`{"tenant_id":"` + bad + `","project_id":"p1","task_id":"t","model":"m","estimated_tokens":1}`,
				`{"username":"` + bad + `","password":"x"}`,
				`{"llm_response":"` + bad + `{\"decision\":\"approve\"}"}`,
				`{"note":"` + bad + `","requeue":false}`,
			}
			return jsonTo(rng, []byte(pick(rng, bodies)))
		}},
		{category: "invalid UTF-8", name: "in the path and query", make: func(rng *rand.Rand) rawRequest {
			bad := pick(rng, invalidUTF8)
			targets := []string{"/api/v1/dlq/" + bad, "/api/v1/budget/state?tenant_id=" + bad + "&project_id=p", "/" + bad,
				"/api/v1/budget/reservations?cursor=" + bad}
			return rawRequest{method: http.MethodGet, target: pick(rng, targets)}
		}},
		{category: "invalid UTF-8", name: "in headers", may2xx: "a header the service does not read is ignored",
			make: func(rng *rand.Rand) rawRequest {
				bad := pick(rng, invalidUTF8)
				headers := []string{"X-Custom: " + bad, "Accept-Language: " + bad, "Origin: http://" + bad, "Idempotency-Key: " + bad}
				r := rawRequest{method: http.MethodGet, target: "/api/v1/auth/me", headers: []string{pick(rng, headers)}}
				if rng.IntN(3) == 0 {
					r.anonymous = true
					r.headers = append(r.headers, "Authorization: Bearer "+bad)
				}
				return r
			}},
		{category: "path tricks", name: "with a token", make: func(rng *rand.Rand) rawRequest {
			p := pick(rng, pathTricks)
			return rawRequest{method: http.MethodGet, target: p.target, may2xx: p.may2xx}
		}},
		{category: "path tricks", name: "without a token", make: func(rng *rand.Rand) rawRequest {
			p := pick(rng, pathTricks)
			r := rawRequest{method: http.MethodGet, target: p.target, anonymous: true}
			if p.public {
				r.may2xx = p.may2xx
			}
			return r
		}},
		{category: "path tricks", name: "methods", make: func(rng *rand.Rand) rawRequest {
			m := pick(rng, []string{"FOO", "TRACE", "PATCH", "DELETE", "OPTIONS", "PROPFIND", "get"})
			return rawRequest{method: m, target: pick(rng, []string{"/api/v1/auth/me", "/api/v1/budget/request", "/", "/api/v1/dlq"})}
		}},
		{category: "path tricks", name: "POST with a trailing slash", weight: 3, make: func(rng *rand.Rand) rawRequest {
			t := jsonTargets[rng.IntN(4)] // the budget routes
			return rawRequest{method: t.method, target: t.path + "/", body: []byte(validBudget)}
		}},
		{category: "X-Request-ID injection", name: "values", may2xx: "the request itself (GET /api/v1/auth/me) is valid; the id is replaced",
			make: func(rng *rand.Rand) rawRequest {
				return rawRequest{method: http.MethodGet, target: "/api/v1/auth/me",
					headers: []string{"X-Request-ID: " + pick(rng, requestIDInjections)}}
			}},
		{category: "X-Request-ID injection", name: "repeated header", may2xx: "the request itself is valid; the first id is used when well formed",
			make: func(rng *rand.Rand) rawRequest {
				return rawRequest{method: http.MethodGet, target: "/api/v1/auth/me",
					headers: []string{"X-Request-ID: ok-1", "X-Request-ID: " + pick(rng, requestIDInjections)}}
			}},
		{category: "bad tokens", name: "Authorization", make: func(rng *rand.Rand) rawRequest {
			auth := pick(rng, []string{"Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4xMjM=", "Bearer a.b.c", "Bearer " + strings.Repeat("x", 8000),
				"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.", "bearer  x", "Bearer \x01"})
			return rawRequest{method: http.MethodGet, target: "/api/v1/auth/me", anonymous: true, headers: []string{"Authorization: " + auth}}
		}},
	}
}
