package handlers_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/middleware"
)

// metricSpec is one family GET /metrics must expose, with the label names of
// every series. Each capability adds its rows to metricSpecs.
type metricSpec struct {
	name string
	typ  dto.MetricType
	// labels are the label names of every series, sorted (nil: no labels).
	labels []string
	// values lists the allowed values of a label (optional).
	values map[string][]string
	// owner is a route ("METHOD /path") of the capability that registers the
	// family; "" for the foundation. The row is skipped while that route is
	// not registered, so the table can list families before they exist.
	owner string
	// lazy marks a vector whose series appear only on an event (a breaker
	// transition): the text format leaves a family without series out, so
	// only its labels are checked, when present.
	lazy bool
}

func metricSpecs() []metricSpec {
	counter, gauge, histogram := dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_HISTOGRAM
	return []metricSpec{
		// foundation
		{name: "http_requests_total", typ: counter, labels: []string{"method", "route", "status"}},
		{name: "http_request_duration_seconds", typ: histogram, labels: []string{"method", "route"}},
		{name: "build_info", typ: gauge, labels: []string{"commit", "version"},
			values: map[string][]string{"version": {"test"}, "commit": {"test"}}},
		{name: "go_goroutines", typ: gauge},
		{name: "go_memstats_alloc_bytes", typ: gauge},
		{name: "go_gc_duration_seconds", typ: dto.MetricType_SUMMARY},
		{name: "process_cpu_seconds_total", typ: counter},
		{name: "process_resident_memory_bytes", typ: gauge},
		{name: "process_start_time_seconds", typ: gauge},
		// auth
		{name: "auth_logins_total", typ: counter, labels: []string{"result"},
			values: map[string][]string{"result": {"success", "fail"}}, owner: "POST /api/v1/auth/login"},
		// rate limits
		{name: "rate_limit_exceeded_total", typ: counter, labels: []string{"scope"}, owner: "POST /api/v1/auth/login"},
		{name: "rate_limit_degraded", typ: gauge, owner: "POST /api/v1/auth/login"},
		// budget
		{name: "budget_requests_total", typ: counter, labels: []string{"status"},
			values: map[string][]string{"status": {"approved", "insufficient", "replayed"}}, owner: "POST /api/v1/budget/request"},
		{name: "budget_commits_total", typ: counter, owner: "POST /api/v1/budget/request"},
		{name: "budget_releases_total", typ: counter, owner: "POST /api/v1/budget/request"},
		{name: "budget_expired_total", typ: counter, owner: "POST /api/v1/budget/request"},
		{name: "budget_batch_size", typ: histogram, labels: []string{"kind"},
			values: map[string][]string{"kind": {"reserve", "settle"}}, owner: "POST /api/v1/budget/request"},
		// dead-letter queue
		{name: "dlq_resolved_total", typ: counter, owner: "GET /api/v1/dlq"},
		{name: "dlq_ingested_total", typ: counter, owner: "GET /api/v1/dlq"},
		{name: "dlq_requeued_total", typ: counter, owner: "GET /api/v1/dlq"},
		{name: "dlq_unresolved", typ: gauge, owner: "GET /api/v1/dlq"},
		// circuit breakers
		{name: "breaker_resets_total", typ: counter, owner: "POST /api/v1/circuit-breakers/reset_all"},
		{name: "circuit_breaker_state", typ: gauge, labels: []string{"name"}, owner: "POST /api/v1/circuit-breakers/reset_all"},
		{name: "circuit_breaker_transitions_total", typ: counter, labels: []string{"from", "name", "to"},
			owner: "POST /api/v1/circuit-breakers/reset_all", lazy: true},
	}
}

// series is one expected http_requests_total series.
type series struct{ route, method, status string }

// driver sends the requests of one endpoint family. It records every raw
// value it sent that must never become a label value (random path segments,
// usernames, tenant ids) in sent, and returns the http_requests_total series
// its requests must have produced.
type driver struct {
	name  string
	owner string // a route of the family; skipped while not registered
	run   func(t *testing.T, srv *testenv.Server, sent *needles) []series
	// counts are business counters the requests must have moved.
	counts []minCount
}

// minCount wants the series of family with labels to count at least min.
type minCount struct {
	family string
	labels map[string]string
	min    float64
}

func drivers() []driver {
	return []driver{
		{name: "infrastructure", run: func(t *testing.T, srv *testenv.Server, sent *needles) []series {
			for _, p := range []string{"/", "/health", "/health/live", "/health/ready", "/metrics", "/docs/index.html"} {
				srv.Get(t, p, "").WantStatus(t, http.StatusOK)
			}
			asset := sent.add("asset")
			srv.Get(t, "/docs/"+asset+".js", "").WantStatus(t, http.StatusNotFound)
			return []series{
				{"/", "GET", "200"}, {"/health", "GET", "200"}, {"/health/live", "GET", "200"},
				{"/health/ready", "GET", "200"}, {"/metrics", "GET", "200"}, {"/docs/*any", "GET", "200"},
				{"/docs/*any", "GET", "404"},
			}
		}},
		{name: "unknown paths and methods", run: func(t *testing.T, srv *testenv.Server, sent *needles) []series {
			srv.Get(t, "/"+sent.add("scan")+"/wp-login.php?user="+sent.add("user"), "").WantError(t, http.StatusNotFound, "resource.not_found")
			srv.Send(t, testenv.Request{Method: http.MethodDelete, Path: "/health"}).WantError(t, http.StatusMethodNotAllowed, "request.method_not_allowed")
			invented := strings.ToUpper(sent.add("brew"))
			sent.values = append(sent.values, invented)
			srv.Send(t, testenv.Request{Method: invented, Path: "/health"}).WantStatus(t, http.StatusMethodNotAllowed)
			return []series{
				{middleware.RouteUnmatched, "GET", "404"}, {middleware.RouteUnmatched, "DELETE", "405"},
				{middleware.RouteUnmatched, middleware.MethodOther, "405"},
			}
		}},
		{name: "auth", owner: "POST /api/v1/auth/login", run: func(t *testing.T, srv *testenv.Server, sent *needles) []series {
			ghost := sent.add("ghost")
			srv.Post(t, "/api/v1/auth/login", "", map[string]string{"username": ghost, "password": "wrong-" + ghost}).
				WantError(t, http.StatusUnauthorized, "auth.invalid_credentials")
			tok := srv.Token(t, "admin")
			srv.Get(t, "/api/v1/auth/me", tok).WantStatus(t, http.StatusOK)
			srv.Get(t, "/api/v1/auth/me", "").WantError(t, http.StatusUnauthorized, "auth.unauthorized")
			return []series{
				{"/api/v1/auth/login", "POST", "401"}, {"/api/v1/auth/login", "POST", "200"},
				{"/api/v1/auth/me", "GET", "200"}, {"/api/v1/auth/me", "GET", "401"},
			}
		}, counts: []minCount{
			{"auth_logins_total", map[string]string{"result": "fail"}, 1},
			{"auth_logins_total", map[string]string{"result": "success"}, 1},
		}},
		{name: "stats", owner: "GET /api/v1/stats", run: func(t *testing.T, srv *testenv.Server, _ *needles) []series {
			srv.Get(t, "/api/v1/stats", srv.Token(t, "observer")).WantStatus(t, http.StatusOK)
			return []series{{"/api/v1/stats", "GET", "200"}}
		}},
		{name: "budget", owner: "POST /api/v1/budget/request", run: func(t *testing.T, srv *testenv.Server, sent *needles) []series {
			tok := srv.Token(t, "admin")
			tenant, project := sent.add("tenant"), sent.add("project")
			with := func(kv ...any) map[string]any {
				m := map[string]any{"tenant_id": tenant, "project_id": project}
				for i := 0; i+1 < len(kv); i += 2 {
					m[kv[i].(string)] = kv[i+1]
				}
				return m
			}
			srv.Send(t, testenv.Request{Method: http.MethodPut, Path: "/api/v1/budget/limits", Token: tok, Body: with("total_limit", 1000)}).
				WantStatus(t, http.StatusOK)
			reserve := func(tokens int) string {
				r := srv.Post(t, "/api/v1/budget/request", tok, with("task_id", sent.add("task"), "model", "gpt-4o", "estimated_tokens", tokens))
				r.WantStatus(t, http.StatusOK)
				var a struct {
					ReservationID string `json:"reservation_id"`
				}
				r.JSON(t, &a)
				return a.ReservationID
			}
			srv.Post(t, "/api/v1/budget/commit", tok, with("reservation_id", reserve(600), "actual_tokens", 500)).WantStatus(t, http.StatusOK)
			srv.Post(t, "/api/v1/budget/release", tok, with("reservation_id", reserve(400))).WantStatus(t, http.StatusOK)
			srv.Post(t, "/api/v1/budget/request", tok, with("task_id", sent.add("task"), "model", "gpt-4o", "estimated_tokens", 5000)).
				WantError(t, http.StatusConflict, "budget.insufficient")
			srv.Get(t, "/api/v1/budget/state?tenant_id="+tenant+"&project_id="+project, tok).WantStatus(t, http.StatusOK)
			return []series{
				{"/api/v1/budget/limits", "PUT", "200"}, {"/api/v1/budget/request", "POST", "200"},
				{"/api/v1/budget/request", "POST", "409"}, {"/api/v1/budget/commit", "POST", "200"},
				{"/api/v1/budget/release", "POST", "200"}, {"/api/v1/budget/state", "GET", "200"},
			}
		}, counts: []minCount{
			{"budget_requests_total", map[string]string{"status": "approved"}, 2},
			{"budget_requests_total", map[string]string{"status": "insufficient"}, 1},
			{"budget_commits_total", nil, 1},
			{"budget_releases_total", nil, 1},
		}},
		{name: "circuit breakers", owner: "POST /api/v1/circuit-breakers/reset_all", run: func(t *testing.T, srv *testenv.Server, sent *needles) []series {
			tok := srv.Token(t, "admin")
			srv.Get(t, "/api/v1/circuit-breakers", tok).WantStatus(t, http.StatusOK)
			srv.Post(t, "/api/v1/circuit-breakers/reset_all", tok, nil).WantStatus(t, http.StatusOK)
			srv.Post(t, "/api/v1/circuit-breakers/"+sent.add("breaker")+"/reset", tok, nil).WantError(t, http.StatusNotFound, "resource.not_found")
			return []series{
				{"/api/v1/circuit-breakers", "GET", "200"}, {"/api/v1/circuit-breakers/reset_all", "POST", "200"},
				{"/api/v1/circuit-breakers/:name/reset", "POST", "404"},
			}
		}, counts: []minCount{{"breaker_resets_total", nil, 1}}},
		{name: "dlq", owner: "GET /api/v1/dlq/:id", run: func(t *testing.T, srv *testenv.Server, sent *needles) []series {
			tok := srv.Token(t, "admin")
			srv.Get(t, "/api/v1/dlq", tok).WantStatus(t, http.StatusOK)
			id := randomUUID(t)
			sent.values = append(sent.values, id)
			srv.Get(t, "/api/v1/dlq/"+id, tok).WantError(t, http.StatusNotFound, "resource.not_found")
			return []series{{"/api/v1/dlq", "GET", "200"}, {"/api/v1/dlq/:id", "GET", "404"}}
		}},
	}
}

// TestMetricsAfterEachEndpointFamily drives one endpoint family after the
// other and checks, after each, every family of the spec table, the series
// the requests produced, and that no raw value sent became a label value.
func TestMetricsAfterEachEndpointFamily(t *testing.T) {
	srv := testenv.Quick(t)
	routes := registeredRoutes(srv)
	sent := &needles{}
	for _, d := range drivers() {
		t.Run(d.name, func(t *testing.T) {
			if d.owner != "" && !routes[d.owner] {
				t.Skipf("%s is not registered yet", d.owner)
			}
			want := d.run(t, srv, sent)
			families := scrape(t, srv, "")
			checkSpecs(t, families, routes)
			got := httpSeries(families)
			for _, s := range want {
				if !got[s] {
					t.Errorf("no http_requests_total%s; have %v", s, sortedSeries(got))
				}
			}
			for _, c := range d.counts {
				if got := counterValue(families[c.family], c.labels); got < c.min {
					t.Errorf("%s%v = %v, want at least %v", c.family, c.labels, got, c.min)
				}
			}
			checkRouteLabels(t, families, routes)
			checkNoNeedles(t, families, sent)
		})
	}
}

// TestUnknownPathsShareOneRouteLabel: 1,000 requests to random unknown paths
// add the one route value "unmatched", not 1,000.
func TestUnknownPathsShareOneRouteLabel(t *testing.T) {
	srv := testenv.Quick(t)
	scrape(t, srv, "") // so that /metrics itself is counted before the baseline
	before := labelValues(scrape(t, srv, ""), "http_requests_total", "route")
	sent := &needles{}
	paths := make([]string, 1000)
	for i := range paths {
		switch i % 4 {
		case 0:
			paths[i] = "/" + sent.add("p")
		case 1:
			paths[i] = "/api/v1/" + sent.add("p") + "/" + sent.add("p")
		case 2:
			paths[i] = "/.env." + sent.add("p") + "?tenant=" + sent.add("tenant")
		default:
			paths[i] = "/api/v2/dlq/" + sent.add("p")
		}
	}
	methods := []string{http.MethodGet, http.MethodPost, "PROPFIND"}
	var wg sync.WaitGroup
	errc := make(chan error, len(paths))
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				r, err := srv.SendErr(testenv.Request{Method: methods[i%len(methods)], Path: paths[i]})
				if err == nil && r.Status != http.StatusNotFound {
					err = fmt.Errorf("%s: status %d, want 404", paths[i], r.Status)
				}
				if err != nil {
					errc <- err
				}
			}
		})
	}
	for i := range paths {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}

	families := scrape(t, srv, "")
	after := labelValues(families, "http_requests_total", "route")
	var added []string
	for v := range after {
		if !before[v] {
			added = append(added, v)
		}
	}
	sort.Strings(added)
	if diff := cmp.Diff([]string{middleware.RouteUnmatched}, added); diff != "" {
		t.Errorf("route values added by 1,000 unknown paths (-want +got):\n%s", diff)
	}
	unmatched := 0
	var total float64
	for _, m := range families["http_requests_total"].GetMetric() {
		if labelMap(m)["route"] == middleware.RouteUnmatched {
			unmatched++
			total += m.GetCounter().GetValue()
		}
	}
	// One series per (method label, status): GET, POST, OTHER × 404.
	if unmatched != 3 || total != 1000 {
		t.Errorf("unmatched series = %d counting %v requests, want 3 series counting 1000", unmatched, total)
	}
	if got := labelValues(families, "http_requests_total", "method"); got["PROPFIND"] {
		t.Errorf("method values %v include the invented method PROPFIND, want it counted as %s", got, middleware.MethodOther)
	}
	checkNoNeedles(t, families, sent)
}

// TestMetricsBearerToken: with METRICS_BEARER_TOKEN set, /metrics answers
// 401 in the one error shape without or with a wrong token.
func TestMetricsBearerToken(t *testing.T) {
	const token = "metrics-token-0123456789"
	open := testenv.Quick(t)
	closed := testenv.Quick(t, "METRICS_BEARER_TOKEN", token)
	for _, srv := range []*testenv.Server{open, closed} {
		srv.Get(t, "/health/live", "").WantStatus(t, http.StatusOK) // a first series to scrape
	}
	tests := []struct {
		name   string
		srv    *testenv.Server
		header map[string]string
		want   int
	}{
		{"no token configured, none sent", open, nil, http.StatusOK},
		{"no token configured, one sent", open, map[string]string{"Authorization": "Bearer whatever"}, http.StatusOK},
		{"token configured, none sent", closed, nil, http.StatusUnauthorized},
		{"wrong token", closed, map[string]string{"Authorization": "Bearer wrong-" + token}, http.StatusUnauthorized},
		{"prefix of the token", closed, map[string]string{"Authorization": "Bearer " + token[:10]}, http.StatusUnauthorized},
		{"basic instead of bearer", closed, map[string]string{"Authorization": "Basic " + token}, http.StatusUnauthorized},
		{"right token", closed, map[string]string{"Authorization": "Bearer " + token}, http.StatusOK},
		{"scheme in lower case", closed, map[string]string{"Authorization": "bearer " + token}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.srv.Send(t, testenv.Request{Method: http.MethodGet, Path: "/metrics", Header: tt.header})
			if tt.want == http.StatusUnauthorized {
				e := r.WantError(t, http.StatusUnauthorized, "auth.unauthorized")
				if strings.Contains(e.Message, token) {
					t.Errorf("message %q leaks the token", e.Message)
				}
				if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got)
				}
				if strings.Contains(string(r.Body), "http_requests_total") {
					t.Errorf("401 body contains metrics: %s", r.Body)
				}
				return
			}
			r.WantStatus(t, http.StatusOK)
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type = %q, want the Prometheus text format", ct)
			}
			families := parseMetrics(t, string(r.Body))
			if families["http_requests_total"] == nil || families["build_info"] == nil {
				t.Errorf("scrape lacks http_requests_total or build_info: %v", familyNames(families))
			}
		})
	}
	// The refused scrapes are counted like any request, under /metrics.
	got := httpSeries(scrape(t, closed, token))
	if !got[series{"/metrics", "GET", "401"}] {
		t.Errorf("no http_requests_total{route=/metrics,status=401}; have %v", sortedSeries(got))
	}
}

// needles are raw values a test sent; none may appear in a label value.
type needles struct{ values []string }

// add returns a fresh random token with prefix and remembers it.
func (n *needles) add(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	v := prefix + hex.EncodeToString(b[:])
	n.values = append(n.values, v)
	return v
}

func randomUUID(t *testing.T) string {
	t.Helper()
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// scrape reads GET /metrics (with the metrics token when one is given).
func scrape(t *testing.T, srv *testenv.Server, token string) map[string]*dto.MetricFamily {
	t.Helper()
	r := srv.Send(t, testenv.Request{Method: http.MethodGet, Path: "/metrics", Token: token})
	r.WantStatus(t, http.StatusOK)
	return parseMetrics(t, string(r.Body))
}

func parseMetrics(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// registeredRoutes lists the routes of the server as "METHOD /path".
func registeredRoutes(srv *testenv.Server) map[string]bool {
	out := map[string]bool{}
	for _, r := range srv.App.Handler().(*gin.Engine).Routes() {
		out[r.Method+" "+r.Path] = true
	}
	return out
}

func checkSpecs(t *testing.T, families map[string]*dto.MetricFamily, routes map[string]bool) {
	t.Helper()
	for _, s := range metricSpecs() {
		if s.owner != "" && !routes[s.owner] {
			continue
		}
		mf := families[s.name]
		if mf == nil && s.lazy {
			continue
		}
		if mf == nil {
			t.Errorf("family %s is missing (its capability registers %s)", s.name, s.owner)
			continue
		}
		if mf.GetType() != s.typ {
			t.Errorf("%s type = %v, want %v", s.name, mf.GetType(), s.typ)
		}
		for _, m := range mf.GetMetric() {
			labels := labelMap(m)
			var names []string
			for name := range labels {
				names = append(names, name)
			}
			sort.Strings(names)
			if diff := cmp.Diff(s.labels, names); diff != "" {
				t.Errorf("%s label names (-want +got):\n%s", s.name, diff)
				break
			}
			for name, allowed := range s.values {
				if !slices.Contains(allowed, labels[name]) {
					t.Errorf("%s{%s=%q}: want one of %v", s.name, name, labels[name], allowed)
				}
			}
		}
	}
}

// checkRouteLabels: every route label value of the HTTP families is a
// registered route template or "unmatched".
func checkRouteLabels(t *testing.T, families map[string]*dto.MetricFamily, routes map[string]bool) {
	t.Helper()
	templates := map[string]bool{middleware.RouteUnmatched: true}
	for r := range routes {
		_, path, _ := strings.Cut(r, " ")
		templates[path] = true
	}
	for _, name := range []string{"http_requests_total", "http_request_duration_seconds"} {
		for v := range labelValues(families, name, "route") {
			if !templates[v] {
				t.Errorf("%s{route=%q}: not a route template", name, v)
			}
		}
	}
}

func checkNoNeedles(t *testing.T, families map[string]*dto.MetricFamily, sent *needles) {
	t.Helper()
	for name, mf := range families {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				for _, n := range sent.values {
					if strings.Contains(lp.GetValue(), n) {
						t.Errorf("%s{%s=%q} contains %q, a raw value a client sent", name, lp.GetName(), lp.GetValue(), n)
					}
				}
			}
		}
	}
}

// counterValue sums the counters of mf whose labels include labels.
func counterValue(mf *dto.MetricFamily, labels map[string]string) float64 {
	var sum float64
next:
	for _, m := range mf.GetMetric() {
		have := labelMap(m)
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		sum += m.GetCounter().GetValue()
	}
	return sum
}

func labelMap(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, lp := range m.GetLabel() {
		out[lp.GetName()] = lp.GetValue()
	}
	return out
}

func labelValues(families map[string]*dto.MetricFamily, family, label string) map[string]bool {
	out := map[string]bool{}
	for _, m := range families[family].GetMetric() {
		if v, ok := labelMap(m)[label]; ok {
			out[v] = true
		}
	}
	return out
}

func httpSeries(families map[string]*dto.MetricFamily) map[series]bool {
	out := map[series]bool{}
	for _, m := range families["http_requests_total"].GetMetric() {
		l := labelMap(m)
		out[series{l["route"], l["method"], l["status"]}] = true
	}
	return out
}

func sortedSeries(set map[series]bool) []string {
	var out []string
	for s := range set {
		out = append(out, fmt.Sprint(s))
	}
	sort.Strings(out)
	return out
}

func familyNames(families map[string]*dto.MetricFamily) []string {
	var out []string
	for name := range families {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
