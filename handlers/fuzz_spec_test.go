package handlers_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/services/auth"
)

// TestSpecFuzz drives every operation of the committed OpenAPI document as
// every kind of caller with generated requests: a valid one built from the
// documented schemas, and mutations of it (wrong types, missing and extra
// fields, boundary and huge numbers, NUL, invalid UTF-8, control characters,
// very long strings, blank identifiers, duplicate keys, bodies that are not
// objects). Whatever is sent:
//
//   - no answer is 5xx (the server is healthy: a 5xx is a bug);
//   - every status is one the operation documents;
//   - every error is the one shape, with the request id of its header;
//   - every /api/v1 answer carries Cache-Control: no-store and nosniff.
//
// A new operation is covered as soon as it is in docs/openapi.json. The run
// is bounded: FUZZ_REQUESTS requests (about 3,000 on SQLite in go test ./...,
// 12,000 when TEST_DATABASE_URL points at PostgreSQL, as .ci/run does);
// FUZZ_SEED replays a run (the seed is logged). A failure it finds becomes a
// case of TestFuzzRegressions.
func TestSpecFuzz(t *testing.T) {
	t.Parallel()
	budget := 3000
	if db, _, _ := testenv.External(); db {
		budget = 12000
	}
	if v, err := strconv.Atoi(os.Getenv("FUZZ_REQUESTS")); err == nil && v > 0 {
		budget = v
	}
	seed := uint64(rand.Int64())
	if v, err := strconv.ParseUint(os.Getenv("FUZZ_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("FUZZ_SEED=%d FUZZ_REQUESTS=%d", seed, budget)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	fake := testenv.NewFakeOpenAI(t) // the gateway is configured, as in production
	srv := testenv.Quick(t, "MAX_BODY_BYTES", "65536", "LOGIN_MAX_ATTEMPTS", "1000",
		"LLM_MODELS", testenv.FakeModels, "OPENAI_BASE_URL", fake.URL()+"/v1")
	callers := fuzzCallers(t, srv)
	ops := operations(t, loadSpec(t))
	keys := sortedKeys(ops)

	// Each caller sends each operation's valid request; the rest of the
	// budget goes to the mutations of the operations that have inputs,
	// spread over the callers so that together they send each one.
	mutants := map[string][]fuzzRequest{}
	for _, k := range keys {
		if m := (fuzzGen{op: ops[k], rng: rng}).mutants(); len(m) > 0 {
			rng.Shuffle(len(m), func(i, j int) { m[i], m[j] = m[j], m[i] })
			mutants[k] = m
		}
	}
	perCall := max((budget-len(keys)*len(callers))/(max(len(mutants), 1)*len(callers)), 1)
	stats := fuzzStats{statuses: map[int]int{}, failures: map[string]*fuzzFailure{}}
	for _, k := range keys {
		o := ops[k]
		gen := fuzzGen{op: o, rng: rng}
		for ci, c := range callers {
			reqs := []fuzzRequest{gen.valid()}
			if m := mutants[k]; len(m) > 0 {
				for i := range perCall {
					reqs = append(reqs, m[(ci*perCall+i)%len(m)])
				}
			}
			for _, r := range reqs {
				token := c.token
				if k == "POST /api/v1/auth/logout" && c.role != "" {
					token = srv.Login(t, c.username, c.password) // a success revokes it
				}
				stats.add(fuzzCheck(&stats, srv, o, c.role, token, r))
			}
		}
	}
	t.Logf("spec fuzz: %d operations × %d callers, %d requests; statuses %v; 5xx: %d",
		len(keys), len(callers), stats.requests, stats.sorted(), stats.fiveXX)
	stats.report(t)
}

// fuzzCaller is one kind of caller of the fuzz.
type fuzzCaller struct {
	role               string // "" for anonymous
	username, password string
	token              string
}

// fuzzCallers are anonymous, a platform admin, the tenant-bound demo roles
// (operator, developer, observer) and an admin bound to a tenant.
func fuzzCallers(t *testing.T, srv *testenv.Server) []fuzzCaller {
	out := []fuzzCaller{{role: ""}}
	for _, role := range []string{"admin", "operator", "developer", "observer"} {
		out = append(out, fuzzCaller{role: role, username: role, password: testenv.DemoPasswords[role], token: srv.Token(t, role)})
	}
	const tenantAdmin = "fuzz-tenant-admin"
	out = append(out, fuzzCaller{role: "tenant-bound admin", username: tenantAdmin, password: testPassword,
		token: addUser(t, srv, tenantAdmin, auth.RoleAdmin, "default")})
	return out
}

// fuzzRequest is one generated request of an operation.
type fuzzRequest struct {
	what   string            // the mutation, for the failure message
	path   string            // with its parameters filled and escaped
	query  string            // encoded, without "?"
	header map[string]string // header parameters
	body   *string           // nil: none
}

// fuzzCheck sends r as caller and checks the answer; it returns the status.
func fuzzCheck(s *fuzzStats, srv *testenv.Server, o operation, caller, token string, r fuzzRequest) int {
	path := r.path
	if r.query != "" {
		path += "?" + r.query
	}
	req := testenv.Request{Method: o.method, Path: path, Token: token, Header: r.header}
	if r.body != nil {
		req.Body = *r.body
	}
	res, err := srv.SendErr(req)
	if err != nil {
		s.fail(o, "transport error", "as %q, %s: %v", caller, r.what, err)
		return 0
	}
	where := fmt.Sprintf("%s as %q, %s (%.200s): %d", o.key(), caller, r.what, path, res.Status)
	if res.Status >= 500 {
		s.fail(o, "5xx", "%s, a server error; body %.300s", where, res.Body)
	}
	if o.responses()[res.Status] == nil {
		s.fail(o, fmt.Sprintf("undocumented %d", res.Status), "%s, which the operation does not document; body %.300s", where, res.Body)
	}
	if strings.HasPrefix(o.path, "/api/v1/") {
		if got := res.Header.Get("Cache-Control"); got != "no-store" {
			s.fail(o, "no Cache-Control: no-store", "%s with Cache-Control %q, want no-store", where, got)
		}
		if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			s.fail(o, "no nosniff", "%s with X-Content-Type-Options %q, want nosniff", where, got)
		}
	}
	if res.Status >= 400 && nonErrorAnswers[fmt.Sprintf("%s %d", o.key(), res.Status)] == "" {
		var e testenv.ErrorBody
		if err := json.Unmarshal(res.Body, &e); err != nil || e.ErrorCode == "" || e.Message == "" || e.RequestID == "" {
			s.fail(o, "not the error shape", "%s, not in the one error shape: %.300s", where, res.Body)
		} else if got := res.Header.Get("X-Request-ID"); got != e.RequestID {
			s.fail(o, "request id mismatch", "%s, request_id %q but X-Request-ID %q", where, e.RequestID, got)
		}
	}
	return res.Status
}

// fuzzStats counts the answers and keeps the first failure of each kind per
// operation (one bug usually fails hundreds of requests alike).
type fuzzStats struct {
	requests, fiveXX int
	statuses         map[int]int
	failures         map[string]*fuzzFailure
}

type fuzzFailure struct {
	first string
	count int
}

// fail records a failure of kind for operation o.
func (s *fuzzStats) fail(o operation, kind, format string, args ...any) {
	key := o.key() + ": " + kind
	if f, ok := s.failures[key]; ok {
		f.count++
		return
	}
	s.failures[key] = &fuzzFailure{first: fmt.Sprintf(format, args...), count: 1}
}

// report fails t once per kind of failure.
func (s *fuzzStats) report(t *testing.T) {
	for _, k := range sortedKeys(s.failures) {
		f := s.failures[k]
		t.Errorf("%s (%d requests), first: %s", k, f.count, f.first)
	}
}

func (s *fuzzStats) add(status int) {
	s.requests++
	s.statuses[status]++
	if status >= 500 {
		s.fiveXX++
	}
}

func (s *fuzzStats) sorted() string {
	var parts []string
	for _, k := range sortedKeys(s.statuses) {
		parts = append(parts, fmt.Sprintf("%d×%d", k, s.statuses[k]))
	}
	return strings.Join(parts, " ")
}

// fuzzGen generates the requests of one operation from its documentation.
type fuzzGen struct {
	op  operation
	rng *rand.Rand
}

// The nasty strings every string input gets.
var fuzzStrings = []struct{ what, value string }{
	{"a NUL byte", "a\x00b"},
	{"only a NUL byte", "\x00"},
	{"invalid UTF-8", "a\xffb"},
	{"a lone continuation byte", "\x80"},
	{"a truncated UTF-8 sequence", "caf\xc3"},
	{"a control character", "a\x01b"},
	{"a newline", "a\nb"},
	{"DEL", "a\x7fb"},
	{"blank", "   "},
	{"a tab only", "\t"},
	{"empty", ""},
	{"a very long string", strings.Repeat("x", 10000)},
	{"non-ASCII", "ünïcödé-😀"},
	{"a right-to-left override", "a\u202eb"},
	{"SQL", "' OR 1=1 --"},
	{"a path traversal", "../../etc/passwd"},
	{"percent signs", "%00%ff"},
}

// The wrong JSON values every body field gets (raw JSON).
var fuzzJSONValues = []struct{ what, raw string }{
	{"null", "null"},
	{"true", "true"},
	{"an object", `{"a":1}`},
	{"an array", `[1,"x"]`},
	{"zero", "0"},
	{"-1", "-1"},
	{"a fraction", "1.5"},
	{"2^53+1", "9007199254740993"},
	{"2^63", "9223372036854775808"},
	{"-2^63-1", "-9223372036854775809"},
	{"1e400", "1e400"},
	{"a huge integer", strings.Repeat("9", 400)},
	{"a string", `"x"`},
	{"a numeric string", `"12"`},
	{"a NUL escape", `"\u0000"`},
	{"an escaped lone surrogate", `"\ud800"`},
	{"a deep array", strings.Repeat("[", 200) + strings.Repeat("]", 200)},
}

// The bodies every operation with a body gets instead of its own (raw).
var fuzzBodies = []struct{ what, raw string }{
	{"an empty body", ""},
	{"null", "null"},
	{"an array", "[]"},
	{"a string", `"x"`},
	{"a number", "1"},
	{"malformed JSON", `{"`},
	{"trailing data", `{} {}`},
	{"invalid UTF-8 outside strings", "{\xff}"},
	{"a deep object", strings.Repeat(`{"a":`, 500) + "1" + strings.Repeat("}", 500)},
	{"a BOM", "\ufeff{}"},
}

// valid is the documented request: examples, enums, or values that satisfy
// each schema.
func (g fuzzGen) valid() fuzzRequest {
	r := fuzzRequest{what: "a valid request", path: g.path(nil), query: g.query(nil).Encode(), header: g.headers(nil)}
	if fields := g.bodyFields(); fields != nil {
		b := encodeFields(fields)
		r.body = &b
	}
	return r
}

// mutants are the mutations of the valid request, one change each.
func (g fuzzGen) mutants() []fuzzRequest {
	base := g.valid()
	var out []fuzzRequest
	for _, p := range g.params("path") {
		for _, s := range fuzzStrings {
			if s.value == "" {
				continue // an empty segment is another route
			}
			r := base
			r.what = fmt.Sprintf("path %s is %s", p.Name, s.what)
			r.path = g.path(map[string]string{p.Name: s.value})
			out = append(out, r)
		}
	}
	for _, p := range g.params("query") {
		values := slices.Clone(fuzzStrings)
		values = append(values, struct{ what, value string }{"a huge number", strings.Repeat("9", 40)},
			struct{ what, value string }{"-1", "-1"}, struct{ what, value string }{"0", "0"})
		for _, s := range values {
			r := base
			r.what = fmt.Sprintf("query %s is %s", p.Name, s.what)
			q := g.query(nil)
			q.Set(p.Name, s.value)
			r.query = q.Encode()
			out = append(out, r)
		}
		r := base
		r.what = fmt.Sprintf("query %s twice", p.Name)
		q := g.query(nil)
		q.Add(p.Name, "x")
		r.query = q.Encode()
		out = append(out, r)
	}
	for _, p := range g.params("header") {
		for _, s := range fuzzStrings {
			if strings.ContainsAny(s.value, "\x00\n\r\x7f") || strings.ContainsFunc(s.value, func(r rune) bool { return r < 0x20 && r != '\t' }) {
				continue // not sendable as a header
			}
			r := base
			r.what = fmt.Sprintf("header %s is %s", p.Name, s.what)
			r.header = g.headers(map[string]string{p.Name: s.value})
			out = append(out, r)
		}
	}
	fields := g.bodyFields()
	if fields == nil {
		return out
	}
	withBody := func(what, raw string) {
		r := base
		r.what = what
		r.body = &raw
		out = append(out, r)
	}
	for _, b := range fuzzBodies {
		withBody("the body is "+b.what, b.raw)
	}
	withBody("an extra field", encodeFields(append(slices.Clone(fields), field{"unexpected_field", `"x"`})))
	for i, f := range fields {
		without := slices.Delete(slices.Clone(fields), i, i+1)
		withBody("without "+f.name, encodeFields(without))
		withBody(f.name+" twice", encodeFields(append(slices.Clone(fields), field{f.name, `"dup"`})))
		for _, v := range fuzzJSONValues {
			changed := slices.Clone(fields)
			changed[i].raw = v.raw
			withBody(f.name+" is "+v.what, encodeFields(changed))
		}
		for _, s := range fuzzStrings {
			changed := slices.Clone(fields)
			changed[i].raw = rawJSONString(s.value)
			withBody(f.name+" is "+s.what, encodeFields(changed))
		}
		if s := g.bodySchema().Properties[f.name]; s != nil && s.Value != nil {
			for _, n := range boundaries(s.Value) {
				changed := slices.Clone(fields)
				changed[i].raw = n
				withBody(f.name+" is the boundary "+n, encodeFields(changed))
			}
		}
	}
	return out
}

// field is one member of a generated JSON object, its value raw JSON (so
// that duplicates and invalid bytes can be sent).
type field struct{ name, raw string }

func encodeFields(fs []field) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = rawJSONString(f.name) + ":" + f.raw
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// rawJSONString writes s as a JSON string, keeping invalid UTF-8 bytes as
// they are (json.Marshal would replace them).
func rawJSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (g fuzzGen) params(in string) []*openapi3.Parameter {
	var out []*openapi3.Parameter
	for _, ref := range g.op.op.Parameters {
		if ref.Value != nil && ref.Value.In == in {
			out = append(out, ref.Value)
		}
	}
	return out
}

// path fills the path parameters: override, else a valid value.
func (g fuzzGen) path(override map[string]string) string {
	path := g.op.path
	for _, p := range g.params("path") {
		v, ok := override[p.Name]
		if !ok {
			v = g.value(schemaOf(p))
		}
		path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(v))
	}
	return path
}

// query is every documented query parameter with a valid value.
func (g fuzzGen) query(override map[string]string) url.Values {
	q := url.Values{}
	for _, p := range g.params("query") {
		v, ok := override[p.Name]
		if !ok {
			if p.Name == "cursor" {
				continue // a valid one only comes from a previous page
			}
			v = g.value(schemaOf(p))
		}
		q.Set(p.Name, v)
	}
	return q
}

func (g fuzzGen) headers(override map[string]string) map[string]string {
	h := map[string]string{}
	for _, p := range g.params("header") {
		v, ok := override[p.Name]
		if !ok {
			v = g.value(schemaOf(p))
		}
		h[p.Name] = v
	}
	return h
}

func schemaOf(p *openapi3.Parameter) *openapi3.Schema {
	if p.Schema == nil || p.Schema.Value == nil {
		return openapi3.NewStringSchema()
	}
	return p.Schema.Value
}

func (g fuzzGen) bodySchema() *openapi3.Schema {
	if g.op.op.RequestBody == nil || g.op.op.RequestBody.Value == nil {
		return nil
	}
	m := g.op.op.RequestBody.Value.Content.Get("application/json")
	if m == nil || m.Schema == nil || m.Schema.Value == nil {
		return nil
	}
	return m.Schema.Value
}

// bodyFields is a valid body, member by member (nil without a body).
func (g fuzzGen) bodyFields() []field {
	s := g.bodySchema()
	if s == nil {
		return nil
	}
	fs := []field{}
	for _, name := range sortedKeys(s.Properties) {
		p := s.Properties[name]
		if p.Value == nil {
			continue
		}
		raw, _ := json.Marshal(g.jsonValue(p.Value))
		fs = append(fs, field{name, string(raw)})
	}
	return fs
}

// value is a valid string form of a parameter value.
func (g fuzzGen) value(s *openapi3.Schema) string {
	switch v := g.jsonValue(s).(type) {
	case string:
		return v
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// jsonValue is a value that satisfies s: its example, an enum value, or one
// made up from its type and bounds.
func (g fuzzGen) jsonValue(s *openapi3.Schema) any {
	if len(s.Examples) > 0 {
		return s.Examples[0]
	}
	if s.Example != nil {
		return s.Example
	}
	if len(s.Enum) > 0 {
		return s.Enum[g.rng.IntN(len(s.Enum))]
	}
	switch {
	case s.Type.Includes("integer"), s.Type.Includes("number"):
		lo, hi := 1.0, 100.0
		if s.Min != nil {
			lo = *s.Min
		}
		if s.Max != nil && *s.Max < hi {
			hi = *s.Max
		}
		return int64(lo) + g.rng.Int64N(int64(max(hi-lo, 0))+1)
	case s.Type.Includes("boolean"):
		return g.rng.IntN(2) == 1
	case s.Type.Includes("array"):
		return []any{}
	case s.Type.Includes("object"):
		return map[string]any{}
	}
	if s.Format == "uuid" {
		return "01963b4e-8a2c-7d41-9b1e-3f6a2c8d9e10"
	}
	return "fuzz-" + strconv.Itoa(g.rng.IntN(1000))
}

// boundaries are the numbers at and beyond a numeric schema's bounds (raw JSON).
func boundaries(s *openapi3.Schema) []string {
	if !s.Type.Includes("integer") && !s.Type.Includes("number") {
		return nil
	}
	var out []string
	for _, b := range []*float64{s.Min, s.Max} {
		if b == nil {
			continue
		}
		n := int64(*b)
		out = append(out, strconv.FormatInt(n-1, 10), strconv.FormatInt(n, 10), strconv.FormatInt(n+1, 10))
	}
	return out
}

// TestFuzzRegressions replays requests that TestSpecFuzz and the adversarial
// run of issue 20 found answering 500 (on PostgreSQL) or accepting what they
// should refuse, with the answer each must get now, on both databases.
func TestFuzzRegressions(t *testing.T) {
	t.Parallel()
	fake := testenv.NewFakeOpenAI(t)
	srv := testenv.Quick(t, "LLM_MODELS", testenv.FakeModels, "OPENAI_BASE_URL", fake.URL()+"/v1")
	admin := srv.Token(t, "admin")
	chat := `{"model":"fake-mini","messages":[{"role":"user","content":"hi"}]}`
	cases := []struct {
		name   string
		method string
		path   string
		body   string
		header map[string]string
		token  string
		status int
		field  string // the field named in details.errors of a 422
	}{
		{name: "NUL in the login username", method: http.MethodPost, path: "/api/v1/auth/login",
			body: `{"username":"ad\u0000min","password":"admin123"}`, status: 422, field: "username"},
		{name: "a blank login username", method: http.MethodPost, path: "/api/v1/auth/login",
			body: `{"username":"   ","password":"admin123"}`, status: 422, field: "username"},
		{name: "NUL in the login password", method: http.MethodPost, path: "/api/v1/auth/login",
			body: `{"username":"admin","password":"admin\u0000123"}`, status: 422, field: "password"},
		{name: "invalid UTF-8 in a body", method: http.MethodPost, path: "/api/v1/auth/login",
			body: "{\"username\":\"adm\xffin\",\"password\":\"admin123\"}", status: 400},
		{name: "invalid UTF-8 in the DLQ subject filter", method: http.MethodGet, path: "/api/v1/dlq?subject=%FF", token: admin, status: 422, field: "subject"},
		{name: "NUL in the DLQ subject filter", method: http.MethodGet, path: "/api/v1/dlq?subject=a%00b", token: admin, status: 422, field: "subject"},
		{name: "NUL in the audit action filter", method: http.MethodGet, path: "/api/v1/audit?action=%00", token: admin, status: 422, field: "action"},
		{name: "invalid UTF-8 in the audit user filter", method: http.MethodGet, path: "/api/v1/audit?user_id=%C3", token: admin, status: 422, field: "user_id"},
		{name: "a blank audit resource filter", method: http.MethodGet, path: "/api/v1/audit?resource_id=%20%20", token: admin, status: 422, field: "resource_id"},
		{name: "NUL in the tenant path", method: http.MethodGet, path: "/api/v1/tenants/a%00b", token: admin, status: 422, field: "id"},
		{name: "invalid UTF-8 in the tenant path", method: http.MethodPatch, path: "/api/v1/tenants/%FF", body: `{"name":"x"}`, token: admin, status: 422, field: "id"},
		{name: "a control character in the DLQ id", method: http.MethodGet, path: "/api/v1/dlq/%01", token: admin, status: 422, field: "id"},
		{name: "a blank breaker name", method: http.MethodPost, path: "/api/v1/circuit-breakers/%20/reset", token: admin, status: 422, field: "name"},
		{name: "NUL in a new tenant id", method: http.MethodPost, path: "/api/v1/tenants", body: `{"id":"a\u0000b"}`, token: admin, status: 422, field: "id"},
		{name: "NUL in a tenant name", method: http.MethodPost, path: "/api/v1/tenants", body: `{"id":"fuzz-nul-name","name":"a\u0000b"}`, token: admin, status: 422, field: "name"},
		{name: "a blank project", method: http.MethodPost, path: "/api/v1/budget/request", token: admin,
			body: `{"tenant_id":"acme","project_id":"   ","task_id":"t","model":"m","estimated_tokens":1}`, status: 422, field: "project_id"},
		{name: "a blank tenant", method: http.MethodPost, path: "/api/v1/budget/request", token: admin,
			body: `{"tenant_id":"  ","project_id":"p","task_id":"t","model":"m","estimated_tokens":1}`, status: 422, field: "tenant_id"},
		{name: "a blank task and model", method: http.MethodPost, path: "/api/v1/budget/request", token: admin,
			body: `{"tenant_id":"acme","project_id":"p","task_id":" ","model":"\t","estimated_tokens":1}`, status: 422, field: "task_id"},
		{name: "a blank project in the budget state", method: http.MethodGet, path: "/api/v1/budget/state?tenant_id=acme&project_id=%20", token: admin, status: 422, field: "project_id"},
		{name: "NUL in a reservation id", method: http.MethodPost, path: "/api/v1/budget/commit", token: admin,
			body: `{"tenant_id":"acme","project_id":"p","reservation_id":"\u0000","actual_tokens":1}`, status: 422, field: "reservation_id"},
		{name: "invalid UTF-8 in the Idempotency-Key", method: http.MethodPost, path: "/api/v1/budget/request", token: admin,
			body:   `{"tenant_id":"acme","project_id":"p","task_id":"t","model":"m","estimated_tokens":1}`,
			header: map[string]string{"Idempotency-Key": "k\xffey"}, status: 422, field: "Idempotency-Key"},
		{name: "a tab in the Idempotency-Key", method: http.MethodPost, path: "/api/v1/budget/request", token: admin,
			body:   `{"tenant_id":"acme","project_id":"p","task_id":"t","model":"m","estimated_tokens":1}`,
			header: map[string]string{"Idempotency-Key": "k\tey"}, status: 422, field: "Idempotency-Key"},
		{name: "invalid UTF-8 in X-Tenant-ID", method: http.MethodPost, path: "/api/v1/chat/completions", token: admin, body: chat,
			header: map[string]string{"X-Tenant-ID": "acme\xff"}, status: 422, field: "X-Tenant-ID"},
		{name: "a control character in X-Project-ID", method: http.MethodPost, path: "/api/v1/chat/completions", token: admin, body: chat,
			header: map[string]string{"X-Project-ID": "p\tq"}, status: 422, field: "X-Project-ID"},
		{name: "invalid UTF-8 in the gateway's Idempotency-Key", method: http.MethodPost, path: "/api/v1/chat/completions", token: admin, body: chat,
			header: map[string]string{"Idempotency-Key": "k\x80"}, status: 422, field: "Idempotency-Key"},
		{name: "a NUL escape in a chat message is the provider's business", method: http.MethodPost, path: "/api/v1/chat/completions", token: admin,
			body: `{"model":"fake-mini","messages":[{"role":"user","content":"a\u0000b"}]}`, header: map[string]string{"Idempotency-Key": "nul-chat"}, status: 200},
		{name: "NUL in a DLQ note", method: http.MethodPost, path: "/api/v1/dlq/01963b4e-8a2c-7d41-9b1e-3f6a2c8d9e10/resolve", token: admin,
			body: `{"note":"a\u0000b"}`, status: 422, field: "note"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := testenv.Request{Method: tc.method, Path: tc.path, Token: tc.token, Header: tc.header}
			if tc.body != "" {
				req.Body = tc.body
			}
			res := srv.Send(t, req)
			if res.Status != tc.status {
				t.Fatalf("status = %d, want %d; body %s", res.Status, tc.status, res.Body)
			}
			if res.Status < 300 {
				return
			}
			e := res.Error(t)
			if tc.field == "" {
				return
			}
			if !slices.Contains(errorFields(e), tc.field) {
				t.Errorf("details name %v, want %q among them; body %s", errorFields(e), tc.field, res.Body)
			}
		})
	}
	// Nothing of the refused requests was stored.
	var n int64
	if err := srv.App.DB().DB.Table("tenants").Where("id IN ?", []string{"fuzz-nul-name", "   "}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d refused tenants were stored", n)
	}
}

// errorFields are the fields named by a 422's details.errors.
func errorFields(e testenv.ErrorBody) []string {
	list, _ := e.Details["errors"].([]any)
	var out []string
	for _, it := range list {
		if m, ok := it.(map[string]any); ok {
			if f, ok := m["field"].(string); ok {
				out = append(out, f)
			}
		}
	}
	return out
}
