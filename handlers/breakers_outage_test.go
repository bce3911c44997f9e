package handlers_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/platform/natsbus"
	"github.com/golden-architecture/control-plane/services/breaker"
)

func breakerStatus(t *testing.T, srv *testenv.Server, name string) breaker.Status {
	t.Helper()
	b, ok := srv.App.Breakers().Get(name)
	if !ok {
		t.Fatalf("no breaker %q", name)
	}
	return b.Status()
}

// TestRedisBreaker: the service's Redis is killed (or frozen) and comes back.
// After the threshold the "redis" breaker is open (API and metric agree),
// requests follow RATE_LIMIT_FAIL_MODE without calling Redis, and once Redis
// is back the breaker goes half-open and closes.
func TestRedisBreaker(t *testing.T) {
	const callTimeout = time.Second
	tests := []struct {
		name     string
		failMode string
		freeze   bool // SIGSTOP instead of kill: every call would wait for its timeout
		want     int  // status of /api/v1 requests while Redis is down
	}{
		{"killed, fail open", "open", false, http.StatusOK},
		{"killed, fail closed", "closed", false, http.StatusServiceUnavailable},
		{"frozen, fail open", "open", true, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := testenv.NewRedisServer(t)
			rs.Start(t)
			srv := testenv.New(t, "REDIS_URL", rs.URL()).Start(t,
				"RATE_LIMIT_FAIL_MODE", tt.failMode, "REDIS_CALL_TIMEOUT", callTimeout.String(),
				"BREAKER_FAILURE_THRESHOLD", "3", "BREAKER_OPEN_TIMEOUT", "2s", "BREAKER_HALF_OPEN_MAX_CALLS", "1")
			token := srv.Token(t, "admin")
			me := func() *testenv.Response { return srv.Get(t, "/api/v1/auth/me", token) }
			me().WantStatus(t, http.StatusOK)

			if tt.freeze {
				rs.Pause(t)
			} else {
				rs.Stop()
			}
			// Every request makes two Redis calls (its rate limit, the
			// revocation check of its token): the breaker opens within two.
			for i := 0; i < 4 && breakerStatus(t, srv, "redis").State != breaker.Open; i++ {
				if r := me(); r.Status != tt.want {
					t.Fatalf("request %d while Redis is down: status %d, want %d; body %s", i+1, r.Status, tt.want, r.Body)
				}
			}
			if got := breakerStatus(t, srv, "redis").State; got != breaker.Open {
				t.Fatalf("redis breaker = %s after the threshold, want open", got)
			}
			if got := metricValue(t, srv, "circuit_breaker_state", map[string]string{"name": "redis"}); got != 2 {
				t.Errorf("circuit_breaker_state{redis} = %v, want 2 (open)", got)
			}
			if tt.want == http.StatusOK {
				if got := breakerOf(t, listBreakers(t, srv, token), "redis").State; got != "open" {
					t.Errorf("API says redis %s, want open", got)
				}
			}

			// While open: answers follow the fail mode without waiting on
			// Redis. Only the trial call after each open timeout reaches it.
			before := breakerStatus(t, srv, "redis")
			start := time.Now()
			for i := range 50 {
				if r := me(); r.Status != tt.want {
					t.Fatalf("request %d while open: status %d, want %d; body %s", i+1, r.Status, tt.want, r.Body)
				}
			}
			elapsed := time.Since(start)
			after := breakerStatus(t, srv, "redis")
			if rejected := after.TotalRejected - before.TotalRejected; rejected < 50 {
				t.Errorf("%d Redis calls refused by the breaker during 50 requests, want at least 50", rejected)
			}
			// A generous bound: without the breaker the frozen case costs
			// at least 100 call timeouts (100s).
			if limit := 25 * callTimeout; elapsed > limit {
				t.Errorf("50 requests took %v while the breaker was open, want well under %v", elapsed, limit)
			}
			if trials := after.TotalFailures - before.TotalFailures; trials > uint64(elapsed/(2*time.Second))+2 {
				t.Errorf("%d calls reached the dead Redis in %v, want only a trial per open timeout", trials, elapsed)
			}

			if tt.freeze {
				rs.Resume(t)
			} else {
				rs.Start(t)
			}
			testenv.Wait(t, 20*time.Second, "the redis breaker to close", func() bool {
				me()
				return breakerStatus(t, srv, "redis").State == breaker.Closed
			})
			me().WantStatus(t, http.StatusOK)
			if got := metricValue(t, srv, "circuit_breaker_state", map[string]string{"name": "redis"}); got != 0 {
				t.Errorf("circuit_breaker_state{redis} = %v after recovery, want 0", got)
			}
			if got := breakerOf(t, listBreakers(t, srv, token), "redis").State; got != "closed" {
				t.Errorf("API says redis %s after recovery, want closed", got)
			}
			for _, tr := range [][2]string{{"closed", "open"}, {"open", "half_open"}, {"half_open", "closed"}} {
				if got := metricValue(t, srv, "circuit_breaker_transitions_total",
					map[string]string{"name": "redis", "from": tr[0], "to": tr[1]}); got < 1 {
					t.Errorf("transitions{redis,%s,%s} = %v, want at least 1", tr[0], tr[1], got)
				}
			}
		})
	}
}

// TestNATSBreaker: the service's NATS server stops; requeues answer 503, and
// after the threshold the "nats" breaker refuses them without publishing;
// when NATS is back a requeue is the trial that closes the breaker.
func TestNATSBreaker(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nats")
	ns, err := natsbus.StartEmbedded(dir, -1)
	if err != nil {
		t.Fatal(err)
	}
	url := ns.ClientURL()
	t.Cleanup(func() { ns.Shutdown() })
	srv := dlqEnv(t).Start(t, "NATS_URL", url,
		"BREAKER_FAILURE_THRESHOLD", "3", "BREAKER_OPEN_TIMEOUT", "2s", "BREAKER_HALF_OPEN_MAX_CALLS", "1")
	token := srv.Token(t, "admin")
	db := srv.App.DB().DB
	row := models.DLQMessage{ID: uuid.NewString(), StreamSeq: 424242, OriginalSubject: "orders.created", Data: []byte(`{"id":7}`)}
	if err := db.Create(&row).Error; err != nil {
		t.Fatal(err)
	}
	requeue := func() *testenv.Response {
		return srv.Post(t, resolvePath(row.ID), token, map[string]any{"note": "replay", "requeue": true})
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	testenv.Wait(t, 10*time.Second, "the client to notice", func() bool { return !srv.App.Bus().Conn.IsConnected() })
	for i := range 3 {
		e := requeue().WantError(t, http.StatusServiceUnavailable, "service.unavailable")
		if e.Details["breaker"] != nil {
			t.Fatalf("requeue %d refused by the breaker before the threshold: %+v", i+1, e)
		}
	}
	if got := breakerOf(t, listBreakers(t, srv, token), "nats").State; got != "open" {
		t.Fatalf("API says nats %s after 3 failed publishes, want open", got)
	}
	if got := metricValue(t, srv, "circuit_breaker_state", map[string]string{"name": "nats"}); got != 2 {
		t.Errorf("circuit_breaker_state{nats} = %v, want 2", got)
	}

	before := breakerStatus(t, srv, "nats")
	start := time.Now()
	for range 20 {
		e := requeue().WantError(t, http.StatusServiceUnavailable, "service.unavailable")
		if e.Details["breaker"] != "nats" && e.Details["breaker"] != nil {
			t.Errorf("refusal details %v", e.Details)
		}
	}
	elapsed := time.Since(start)
	after := breakerStatus(t, srv, "nats")
	if trials := after.TotalFailures - before.TotalFailures; trials > uint64(elapsed/(2*time.Second))+1 {
		t.Errorf("%d publishes reached the stopped NATS in %v, want only a trial per open timeout", trials, elapsed)
	}
	if refused := after.TotalRejected - before.TotalRejected; refused < 18 {
		t.Errorf("%d of 20 requeues refused by the breaker, want nearly all", refused)
	}
	if stored := dlqStored(t, db, row.ID); stored.Resolved || stored.RequeueCount != 0 || stored.ClaimToken != nil {
		t.Errorf("stored = %+v; want unresolved, never requeued, unclaimed", stored)
	}

	u, _ := neturl.Parse(url)
	port, _ := strconv.Atoi(u.Port())
	ns, err = natsbus.StartEmbedded(dir, port)
	if err != nil {
		t.Fatalf("restart NATS: %v", err)
	}
	testenv.Wait(t, 10*time.Second, "reconnected", srv.App.Bus().Conn.IsConnected)
	testenv.Wait(t, 10*time.Second, "a requeue to pass the half-open breaker", func() bool {
		return requeue().Status == http.StatusOK
	})
	if stored := dlqStored(t, db, row.ID); !stored.Resolved || stored.RequeueCount != 1 {
		t.Errorf("stored = %+v; want resolved, requeued once", stored)
	}
	if got := breakerOf(t, listBreakers(t, srv, token), "nats").State; got != "closed" {
		t.Errorf("API says nats %s after recovery, want closed", got)
	}
	if got := metricValue(t, srv, "circuit_breaker_transitions_total", map[string]string{"name": "nats", "from": "half_open", "to": "closed"}); got != 1 {
		t.Errorf("transitions{nats,half_open,closed} = %v, want 1", got)
	}
}

// tcpProxy forwards a local port to a backend; stop cuts every connection,
// start listens again on the same port.
type tcpProxy struct {
	backend string
	port    int
	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]struct{}
}

func newTCPProxy(t *testing.T, backend string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{backend: backend, port: testenv.FreePort(t), conns: map[net.Conn]struct{}{}}
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) start(t *testing.T) {
	t.Helper()
	var ln net.Listener
	testenv.Wait(t, 10*time.Second, "the proxy port", func() bool {
		var err error
		ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p.port))
		return err == nil
	})
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

func (p *tcpProxy) pipe(c net.Conn) {
	b, err := net.Dial("tcp", p.backend)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[b] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	copyOne := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		_ = dst.Close()
		_ = src.Close()
		done <- struct{}{}
	}
	go copyOne(b, c)
	go copyOne(c, b)
	<-done
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, b)
	p.mu.Unlock()
}

func (p *tcpProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
}

// TestDatabaseBreaker: PostgreSQL (behind a proxy the test cuts) goes away:
// requests answer 503, after the threshold without trying to connect; the
// liveness probe stays up, readiness and /health report the database; once
// it is back the breaker closes and requests succeed.
func TestDatabaseBreaker(t *testing.T) {
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("TEST_DATABASE_URL is not set: the database outage test needs PostgreSQL (SQLite has no connection to lose)")
	}
	env := testenv.New(t)
	u, err := neturl.Parse(env.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	proxy.start(t)
	u.Host = fmt.Sprintf("127.0.0.1:%d", proxy.port)
	srv := env.Start(t, "DATABASE_URL", u.String(),
		"BREAKER_FAILURE_THRESHOLD", "3", "BREAKER_OPEN_TIMEOUT", "2s", "BREAKER_HALF_OPEN_MAX_CALLS", "1")
	token := srv.Token(t, "admin")
	stats := func() *testenv.Response { return srv.Get(t, "/api/v1/stats", token) }
	stats().WantStatus(t, http.StatusOK)

	proxy.stop()
	testenv.Wait(t, 20*time.Second, "the database breaker to open", func() bool {
		if r := stats(); r.Status != http.StatusServiceUnavailable {
			t.Fatalf("GET /stats while the database is down: %d %s, want 503", r.Status, r.Body)
		}
		return breakerStatus(t, srv, "database").State == breaker.Open
	})
	if got := metricValue(t, srv, "circuit_breaker_state", map[string]string{"name": "database"}); got != 2 {
		t.Errorf("circuit_breaker_state{database} = %v, want 2", got)
	}

	before := breakerStatus(t, srv, "database")
	start := time.Now()
	for range 30 {
		stats().WantError(t, http.StatusServiceUnavailable, "service.unavailable")
	}
	elapsed := time.Since(start)
	after := breakerStatus(t, srv, "database")
	if refused := after.TotalRejected - before.TotalRejected; refused < 30 {
		t.Errorf("%d statements refused during 30 requests, want at least 30", refused)
	}
	if trials := after.TotalFailures - before.TotalFailures; trials > uint64(elapsed/(2*time.Second))+2 {
		t.Errorf("%d statements reached for the database in %v, want only trials", trials, elapsed)
	}
	srv.Get(t, "/health/live", "").WantStatus(t, http.StatusOK)
	srv.Get(t, "/health/ready", "").WantStatus(t, http.StatusServiceUnavailable)
	var health struct {
		Breakers map[string]string `json:"breakers"`
	}
	srv.Get(t, "/health", "").WantStatus(t, http.StatusServiceUnavailable).JSON(t, &health)
	if s := health.Breakers["database"]; s != "open" && s != "half_open" {
		t.Errorf("/health breakers = %v, want database open", health.Breakers)
	}

	proxy.start(t)
	testenv.Wait(t, 20*time.Second, "requests to succeed again", func() bool { return stats().Status == http.StatusOK })
	if got := breakerStatus(t, srv, "database").State; got != breaker.Closed {
		t.Errorf("database breaker = %s after recovery, want closed", got)
	}
	srv.Get(t, "/health/ready", "").WantStatus(t, http.StatusOK)
}
