package handlers_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/breaker"
)

type breakerItem struct {
	Name                string    `json:"name"`
	State               string    `json:"state"`
	ConsecutiveFailures uint32    `json:"consecutive_failures"`
	TotalRequests       uint64    `json:"total_requests"`
	TotalFailures       uint64    `json:"total_failures"`
	TotalSuccesses      uint64    `json:"total_successes"`
	TotalRejected       uint64    `json:"total_rejected"`
	LastStateChange     time.Time `json:"last_state_change"`
}

type breakerList struct {
	Instance string        `json:"instance"`
	Breakers []breakerItem `json:"breakers"`
}

type breakerReset struct {
	Status     string   `json:"status"`
	ResetCount int      `json:"reset_count"`
	Breakers   []string `json:"breakers"`
	Broadcast  bool     `json:"broadcast"`
}

func listBreakers(t *testing.T, srv *testenv.Server, token string) breakerList {
	t.Helper()
	var l breakerList
	srv.Get(t, "/api/v1/circuit-breakers", token).WantStatus(t, http.StatusOK).JSON(t, &l)
	return l
}

// breakerOf is one breaker of a listing.
func breakerOf(t *testing.T, l breakerList, name string) breakerItem {
	t.Helper()
	for _, b := range l.Breakers {
		if b.Name == name {
			return b
		}
	}
	t.Fatalf("no breaker %q in %+v", name, l.Breakers)
	return breakerItem{}
}

// breakerNames are the breakers a server of cfg registers.
func breakerNames(srv *testenv.Server) []string {
	if srv.Config.RedisURL != "" || srv.Config.RateLimitStorageURI != "" {
		return []string{"database", "nats", "redis"}
	}
	return []string{"database", "nats"}
}

// trip opens the named breaker of srv by failing calls through it.
func trip(t *testing.T, srv *testenv.Server, name string) {
	t.Helper()
	b, ok := srv.App.Breakers().Get(name)
	if !ok {
		t.Fatalf("no breaker %q", name)
	}
	for range srv.Config.BreakerFailureThreshold {
		_ = b.Do(context.Background(), func(context.Context) error {
			return &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
		})
	}
	if got := b.State(); got != breaker.Open {
		t.Fatalf("breaker %s = %s after %d failures, want open", name, got, srv.Config.BreakerFailureThreshold)
	}
}

// metricValue reads one series of GET /metrics (-1 when absent).
func metricValue(t *testing.T, srv *testenv.Server, family string, labels map[string]string) float64 {
	t.Helper()
	mf := scrape(t, srv, srv.Config.MetricsBearerToken)[family]
	for _, m := range mf.GetMetric() {
		got := labelMap(m)
		match := true
		for k, v := range labels {
			match = match && got[k] == v
		}
		if match {
			return m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return -1
}

func auditRows(t *testing.T, srv *testenv.Server, action string) []models.AuditEntry {
	t.Helper()
	var rows []models.AuditEntry
	if err := srv.App.DB().DB.Where("action = ?", action).Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestBreakersList(t *testing.T) {
	srv := testenv.Quick(t, "INSTANCE_ID", "replica-a")
	got := listBreakers(t, srv, srv.Token(t, "admin"))
	if got.Instance != "replica-a" {
		t.Errorf("instance = %q, want replica-a", got.Instance)
	}
	var names []string
	for _, b := range got.Breakers {
		names = append(names, b.Name)
		if b.State != "closed" || b.ConsecutiveFailures != 0 || b.TotalFailures != 0 || b.TotalRejected != 0 {
			t.Errorf("fresh breaker %+v, want closed without failures", b)
		}
		if age := time.Since(b.LastStateChange); age < 0 || age > time.Minute {
			t.Errorf("%s last_state_change = %v, want the start of the server", b.Name, b.LastStateChange)
		}
	}
	if diff := cmp.Diff(breakerNames(srv), names); diff != "" {
		t.Errorf("breaker names, sorted (-want +got):\n%s", diff)
	}
	// The database breaker has seen the statements of the start and the login.
	if db := breakerOf(t, got, "database"); db.TotalRequests == 0 || db.TotalSuccesses == 0 {
		t.Errorf("database breaker %+v, want the statements so far counted", db)
	}
	// The wire shape: exactly these fields.
	var raw struct {
		Breakers []map[string]any `json:"breakers"`
	}
	srv.Get(t, "/api/v1/circuit-breakers", srv.Token(t, "admin")).JSON(t, &raw)
	var keys []string
	for k := range raw.Breakers[0] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"consecutive_failures", "last_state_change", "name", "state", "total_failures", "total_rejected", "total_requests", "total_successes"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("breaker fields (-want +got):\n%s", diff)
	}
}

func TestBreakersAccess(t *testing.T) {
	srv := testenv.Quick(t)
	tokens := map[string]string{"anonymous": ""}
	for _, role := range []string{"admin", "operator", "developer", "observer"} {
		tokens[role] = srv.Token(t, role)
	}
	type call struct{ method, path string }
	list := call{http.MethodGet, "/api/v1/circuit-breakers"}
	resetAll := call{http.MethodPost, "/api/v1/circuit-breakers/reset_all"}
	resetOne := call{http.MethodPost, "/api/v1/circuit-breakers/nats/reset"}
	tests := []struct {
		role string
		call call
		want int
		code string
	}{
		{"anonymous", list, http.StatusUnauthorized, "auth.unauthorized"},
		{"anonymous", resetAll, http.StatusUnauthorized, "auth.unauthorized"},
		{"anonymous", resetOne, http.StatusUnauthorized, "auth.unauthorized"},
		// Breakers are platform-level: the roles with metrics.view are bound
		// to a tenant (DESIGN §7).
		{"observer", list, http.StatusForbidden, "auth.forbidden"},
		{"developer", list, http.StatusForbidden, "auth.forbidden"},
		{"operator", list, http.StatusForbidden, "auth.forbidden"},
		{"admin", list, http.StatusOK, ""},
		{"observer", resetAll, http.StatusForbidden, "auth.forbidden"},
		{"developer", resetAll, http.StatusForbidden, "auth.forbidden"},
		{"operator", resetAll, http.StatusForbidden, "auth.forbidden"},
		{"operator", resetOne, http.StatusForbidden, "auth.forbidden"},
		{"admin", resetAll, http.StatusOK, ""},
		{"admin", resetOne, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.role+" "+tt.call.method+" "+tt.call.path, func(t *testing.T) {
			r := srv.Send(t, testenv.Request{Method: tt.call.method, Path: tt.call.path, Token: tokens[tt.role]})
			if tt.code != "" {
				r.WantError(t, tt.want, tt.code)
				return
			}
			r.WantStatus(t, tt.want)
		})
	}
	// Only the admin's two resets were carried out and audited.
	if n := len(auditRows(t, srv, breaker.ActionResetAll)) + len(auditRows(t, srv, breaker.ActionReset)); n != 2 {
		t.Errorf("audited resets = %d, want 2 (the admin's)", n)
	}
}

// TestBreakerResets: one breaker and all of them, with the answer, the
// state, the audit entry, breaker_resets_total and the transitions.
func TestBreakerResets(t *testing.T) {
	srv := testenv.Quick(t)
	token := srv.Token(t, "admin")
	broadcast := srv.Config.RedisURL != ""
	names := breakerNames(srv)

	trip(t, srv, "nats")
	if got := breakerOf(t, listBreakers(t, srv, token), "nats").State; got != "open" {
		t.Fatalf("nats = %s, want open", got)
	}
	if got := metricValue(t, srv, "circuit_breaker_state", map[string]string{"name": "nats"}); got != 2 {
		t.Errorf("circuit_breaker_state{nats} = %v, want 2", got)
	}
	opened := breakerOf(t, listBreakers(t, srv, token), "nats").LastStateChange

	var one breakerReset
	srv.Post(t, "/api/v1/circuit-breakers/nats/reset", token, nil).WantStatus(t, http.StatusOK).JSON(t, &one)
	if diff := cmp.Diff(breakerReset{Status: "success", ResetCount: 1, Breakers: []string{"nats"}, Broadcast: broadcast}, one); diff != "" {
		t.Errorf("reset answer (-want +got):\n%s", diff)
	}
	nats := breakerOf(t, listBreakers(t, srv, token), "nats")
	if nats.State != "closed" || nats.TotalFailures != uint64(srv.Config.BreakerFailureThreshold) || nats.LastStateChange.Before(opened) {
		t.Errorf("nats after reset = %+v; want closed, the lifetime failures kept, a new last_state_change", nats)
	}
	if got := metricValue(t, srv, "circuit_breaker_transitions_total", map[string]string{"name": "nats", "from": "open", "to": "closed"}); got != 1 {
		t.Errorf("transitions{nats,open,closed} = %v, want 1", got)
	}

	trip(t, srv, "nats")
	var all breakerReset
	srv.Post(t, "/api/v1/circuit-breakers/reset_all", token, nil).WantStatus(t, http.StatusOK).JSON(t, &all)
	if diff := cmp.Diff(breakerReset{Status: "success", ResetCount: len(names), Breakers: names, Broadcast: broadcast}, all); diff != "" {
		t.Errorf("reset_all answer (-want +got):\n%s", diff)
	}
	for _, b := range listBreakers(t, srv, token).Breakers {
		if b.State != "closed" {
			t.Errorf("%s = %s after reset_all, want closed", b.Name, b.State)
		}
	}
	if got := metricValue(t, srv, "breaker_resets_total", nil); got != float64(1+len(names)) {
		t.Errorf("breaker_resets_total = %v, want %d", got, 1+len(names))
	}

	rows := auditRows(t, srv, breaker.ActionReset)
	if len(rows) != 1 || rows[0].ResourceType != "circuit_breaker" || rows[0].Role != "admin" || rows[0].UserID == "" ||
		rows[0].Details["count"] != float64(1) || !cmp.Equal(rows[0].Details["names"], []any{"nats"}) {
		t.Errorf("breakers.reset audit rows = %+v; want one by the admin with count 1 and names [nats]", rows)
	}
	rows = auditRows(t, srv, breaker.ActionResetAll)
	if len(rows) != 1 || rows[0].Details["count"] != float64(len(names)) || rows[0].RequestID == "" {
		t.Errorf("breakers.reset_all audit rows = %+v; want one with count %d and a request id", rows, len(names))
	} else {
		var got []string
		for _, n := range rows[0].Details["names"].([]any) {
			got = append(got, n.(string))
		}
		if !slices.Equal(got, names) {
			t.Errorf("audited names = %v, want %v", got, names)
		}
	}

	srv.Post(t, "/api/v1/circuit-breakers/nope/reset", token, nil).WantError(t, http.StatusNotFound, "resource.not_found")
	if got := metricValue(t, srv, "breaker_resets_total", nil); got != float64(1+len(names)) {
		t.Errorf("breaker_resets_total = %v after a 404, want it unchanged", got)
	}
}

// TestBreakerResetRateLimit: both resets share RATE_LIMIT_BREAKER_RESET.
func TestBreakerResetRateLimit(t *testing.T) {
	srv := testenv.Quick(t, "RATE_LIMIT_BREAKER_RESET", "2-M")
	token := srv.Token(t, "admin")
	srv.Post(t, "/api/v1/circuit-breakers/reset_all", token, nil).WantStatus(t, http.StatusOK)
	srv.Post(t, "/api/v1/circuit-breakers/nats/reset", token, nil).WantStatus(t, http.StatusOK)
	r := srv.Post(t, "/api/v1/circuit-breakers/reset_all", token, nil)
	r.WantError(t, http.StatusTooManyRequests, "rate_limit.exceeded")
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if n := len(auditRows(t, srv, breaker.ActionResetAll)); n != 1 {
		t.Errorf("audited reset_all = %d, want 1", n)
	}
	// Listing is not limited by that scope.
	srv.Get(t, "/api/v1/circuit-breakers", token).WantStatus(t, http.StatusOK)
}

// TestBreakerHealth: an open breaker shows in /health (degraded) but never
// fails /health/live or /health/ready.
func TestBreakerHealth(t *testing.T) {
	srv := testenv.Quick(t)
	type report struct {
		Status   string            `json:"status"`
		Breakers map[string]string `json:"breakers"`
	}
	var before report
	srv.Get(t, "/health", "").WantStatus(t, http.StatusOK).JSON(t, &before)
	want := map[string]string{}
	for _, n := range breakerNames(srv) {
		want[n] = "closed"
	}
	if before.Status != "ok" || !cmp.Equal(before.Breakers, want) {
		t.Errorf("healthy /health = %+v, want ok with %v", before, want)
	}

	trip(t, srv, "nats")
	var during report
	srv.Get(t, "/health", "").WantStatus(t, http.StatusOK).JSON(t, &during)
	want["nats"] = "open"
	if during.Status != "degraded" || !cmp.Equal(during.Breakers, want) {
		t.Errorf("/health with nats open = %+v, want degraded with %v", during, want)
	}
	srv.Get(t, "/health/live", "").WantStatus(t, http.StatusOK)
	srv.Get(t, "/health/ready", "").WantStatus(t, http.StatusOK)

	srv.App.Breakers().ResetAll()
	var after report
	srv.Get(t, "/health", "").WantStatus(t, http.StatusOK).JSON(t, &after)
	if after.Status != "ok" {
		t.Errorf("/health after the reset = %+v, want ok", after)
	}
}

// sharedRedis is TEST_REDIS_URL, else a redis-server of the test's own (then
// restart can restart it); the test is skipped when neither is available.
func sharedRedis(t *testing.T) (url string, own *testenv.RedisServer) {
	t.Helper()
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u, nil
	}
	if _, err := os.Stat(testenv.RedisServerBin); err != nil {
		t.Skipf("neither TEST_REDIS_URL nor %s: the reset broadcast between two replicas needs a shared Redis", testenv.RedisServerBin)
	}
	own = testenv.NewRedisServer(t)
	own.Start(t)
	return own.URL(), own
}

// TestBreakerResetBroadcast: two replicas share Redis; a reset on one closes
// the breakers of the other, also after Redis restarted.
func TestBreakerResetBroadcast(t *testing.T) {
	url, own := sharedRedis(t)
	env := testenv.New(t, "REDIS_URL", url)
	a, b := env.Start(t, "INSTANCE_ID", "a"), env.Start(t, "INSTANCE_ID", "b")
	token := a.Token(t, "admin")
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opts)
	t.Cleanup(func() { _ = rc.Close() })
	channel := a.Config.RedisKeyPrefix + "breakers:reset"
	bothSubscribed := func() {
		t.Helper()
		testenv.Wait(t, 20*time.Second, "both replicas subscribed to "+channel, func() bool {
			n, err := rc.PubSubNumSub(context.Background(), channel).Result()
			return err == nil && n[channel] == 2
		})
	}
	bothClosed := func(what string) {
		t.Helper()
		testenv.Wait(t, 10*time.Second, what, func() bool {
			for _, s := range b.App.Breakers().States() {
				if s != breaker.Closed {
					return false
				}
			}
			return true
		})
	}
	bothSubscribed()

	trip(t, b, "nats")
	trip(t, b, "database")
	trip(t, a, "nats")
	var res breakerReset
	a.Post(t, "/api/v1/circuit-breakers/reset_all", token, nil).WantStatus(t, http.StatusOK).JSON(t, &res)
	if !res.Broadcast || res.ResetCount != 3 {
		t.Errorf("reset_all answer %+v, want 3 breakers, broadcast", res)
	}
	if got := a.App.Breakers().States()["nats"]; got != breaker.Closed {
		t.Errorf("a's nats = %s right after the answer, want closed", got)
	}
	bothClosed("b's breakers reset by a's reset_all")
	if got := breakerOf(t, listBreakers(t, b, b.Token(t, "admin")), "nats").State; got != "closed" {
		t.Errorf("b's API says nats %s, want closed", got)
	}
	if got := metricValue(t, a, "breaker_resets_total", nil); got != 3 {
		t.Errorf("a's breaker_resets_total = %v, want 3", got)
	}
	if got := metricValue(t, b, "breaker_resets_total", nil); got != 0 {
		t.Errorf("b's breaker_resets_total = %v, want 0 (the operator's request was served by a)", got)
	}
	if n := len(auditRows(t, a, breaker.ActionResetAll)); n != 1 {
		t.Errorf("audited reset_all = %d, want 1 (written by the replica that served it)", n)
	}

	trip(t, b, "redis")
	a.Post(t, "/api/v1/circuit-breakers/redis/reset", token, nil).WantStatus(t, http.StatusOK)
	bothClosed("b's redis breaker reset by a's single reset")

	if own == nil {
		return // the shared Redis of TEST_REDIS_URL is never restarted
	}
	own.Stop()
	own.Start(t)
	bothSubscribed()
	trip(t, b, "nats")
	a.Post(t, "/api/v1/circuit-breakers/reset_all", token, nil).WantStatus(t, http.StatusOK)
	bothClosed("b's breakers reset after Redis restarted")
}
