package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/platform/database"
)

// budgetTally counts the answers of many concurrent budget requests.
type budgetTally struct {
	mu                sync.Mutex
	approved, refused int
	ids               map[string]int
	unexpected        []string
}

func (b *budgetTally) add(r *testenv.Response, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case err != nil:
		b.unexpected = append(b.unexpected, err.Error())
	case r.Status == http.StatusOK:
		b.approved++
		var body struct {
			ID string `json:"reservation_id"`
		}
		_ = json.Unmarshal(r.Body, &body)
		if b.ids == nil {
			b.ids = map[string]int{}
		}
		b.ids[body.ID]++
	case r.Status == http.StatusConflict:
		b.refused++
	default:
		b.unexpected = append(b.unexpected, fmt.Sprintf("%d %s", r.Status, r.Body))
	}
}

// fire sends one request per client index at once (clients[i % len]).
func fire(clients []*testenv.Client, n int, req func(i int) testenv.Request) *budgetTally {
	tally := &budgetTally{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tally.add(clients[i%len(clients)].SendErr(req(i)))
		}()
	}
	close(start)
	wg.Wait()
	return tally
}

func budgetReq(token string, i int, key string) testenv.Request {
	body := budgetRequestBody("acme", 1000)
	body["task_id"] = fmt.Sprintf("task-%d", i)
	r := testenv.Request{Method: http.MethodPost, Path: "/api/v1/budget/request", Token: token, Body: body}
	if key != "" {
		body["task_id"] = "task-retried"
		r.Header = map[string]string{"Idempotency-Key": key}
	}
	return r
}

// TestBudgetConcurrentRequests: 500 requests of 1,000 tokens at once against
// the default 100,000 through the real router: exactly 100 approved.
func TestBudgetConcurrentRequests(t *testing.T) {
	s := newBudgetServer(t)
	tally := fire([]*testenv.Client{s.Client}, 500, func(i int) testenv.Request { return budgetReq(s.operator, i, "") })
	if len(tally.unexpected) > 0 {
		t.Fatalf("%d unexpected answers, first: %s", len(tally.unexpected), tally.unexpected[0])
	}
	if tally.approved != 100 || tally.refused != 400 || len(tally.ids) != 100 {
		t.Errorf("approved %d (%d ids), refused %d; want 100, 100, 400", tally.approved, len(tally.ids), tally.refused)
	}
	wantBudgetState(t, s.state(t, "acme"), 100_000, 0, 100_000, 0, 0, 100)
}

// TestBudgetIdempotency covers replays through the header and the body key,
// conflicts, and 20 concurrent retries of one key.
func TestBudgetIdempotency(t *testing.T) {
	s := newBudgetServer(t)
	key := map[string]string{"Idempotency-Key": "order-1"}
	first := s.request(t, s.operator, budgetRequestBody("acme", 700), key).WantStatus(t, http.StatusOK)
	again := s.request(t, s.operator, budgetRequestBody("acme", 700), key).WantStatus(t, http.StatusOK)
	if string(again.Body) != string(first.Body) || again.Header.Get("Idempotency-Replayed") != "true" {
		t.Errorf("replay = %s (replayed header %q), want %s", again.Body, again.Header.Get("Idempotency-Replayed"), first.Body)
	}
	body := budgetRequestBody("acme", 700)
	body["request_id"] = "order-1" // the body key is the same key
	viaBody := s.request(t, s.operator, body, nil).WantStatus(t, http.StatusOK)
	if string(viaBody.Body) != string(first.Body) {
		t.Errorf("replay through request_id = %s, want %s", viaBody.Body, first.Body)
	}
	e := s.request(t, s.operator, budgetRequestBody("acme", 701), key).WantError(t, http.StatusConflict, "idempotency.conflict")
	if e.Details["idempotency_key"] != "order-1" {
		t.Errorf("conflict details = %v", e.Details)
	}
	s.request(t, s.operator, body, map[string]string{"Idempotency-Key": "order-2"}).
		WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	wantBudgetState(t, s.state(t, "acme"), 100_000, 0, 700, 99_300, 0, 1)

	tally := fire([]*testenv.Client{s.Client}, 20, func(i int) testenv.Request { return budgetReq(s.operator, i, "retry-storm") })
	if len(tally.unexpected) > 0 || tally.approved != 20 || len(tally.ids) != 1 {
		t.Fatalf("20 retries: approved %d with %d ids, unexpected %v; want 20 answers naming one reservation",
			tally.approved, len(tally.ids), tally.unexpected)
	}
	wantBudgetState(t, s.state(t, "acme"), 100_000, 0, 1700, 98_300, 0, 2)
}

// TestBudgetTwoProcesses splits 500 concurrent requests across two server
// processes sharing one PostgreSQL database: exactly 100 approved in total.
func TestBudgetTwoProcesses(t *testing.T) {
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("needs TEST_DATABASE_URL: two server processes must share one PostgreSQL database (SQLite is single-process)")
	}
	env := testenv.New(t)
	binary := testenv.BuildBinary(t)
	vars := map[string]string{
		"DATABASE_URL": env.DatabaseURL, "JWT_SECRET": env.Vars["JWT_SECRET"], "RATE_LIMITS_ENABLED": "false",
		"SEED_DEMO_USERS": "true", "BCRYPT_COST": "4", "LOG_LEVEL": "warn",
	}
	urlA, _ := testenv.StartProcess(t, binary, vars)
	urlB, _ := testenv.StartProcess(t, binary, vars)
	a, b := testenv.NewClient(urlA), testenv.NewClient(urlB)
	token := a.Token(t, "admin") // one JWT_SECRET: valid on both

	tally := fire([]*testenv.Client{a, b}, 500, func(i int) testenv.Request { return budgetReq(token, i, "") })
	if len(tally.unexpected) > 0 {
		t.Fatalf("%d unexpected answers, first: %s", len(tally.unexpected), tally.unexpected[0])
	}
	if tally.approved != 100 || tally.refused != 400 || len(tally.ids) != 100 {
		t.Errorf("approved %d (%d ids), refused %d; want 100, 100, 400", tally.approved, len(tally.ids), tally.refused)
	}
	for _, c := range []*testenv.Client{a, b} {
		st := c.Get(t, "/api/v1/budget/state?tenant_id=acme&project_id=p1", token).WantStatus(t, http.StatusOK).Map(t)
		wantBudgetState(t, st, 100_000, 0, 100_000, 0, 0, 100)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := database.Open(ctx, database.Options{URL: env.DatabaseURL, MinConns: 1, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	checkBudgetLedger(t, db.DB)
}
