package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/golden-architecture/control-plane/internal/metrictest"
	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/breaker"
)

// earlyStarts reads llm_early_starts_total{outcome}.
func earlyStarts(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	t.Helper()
	return metrictest.Value(t, reg, "llm_early_starts_total", map[string]string{"outcome": outcome})
}

// lockBudget holds the budget row in a transaction until release: a
// reservation or commit on it waits (on SQLite, every write does).
func (s *gatewayServer) lockBudget(t *testing.T, tenant, project string) (release func()) {
	t.Helper()
	tx := s.App.DB().DB.Begin()
	if err := tx.Exec("UPDATE budget_limits SET total_limit = total_limit WHERE tenant_id = ? AND project_id = ?", tenant, project).Error; err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	return func() { tx.Rollback() }
}

// A call on a budget the gateway saw with room starts its provider call
// beside its reservation: the provider is called while the reservation
// waits for the budget row, and nothing reaches the client until the
// reservation is stored. The first call on a budget has no such view and
// reserves first, as every call does with LLM_EARLY_START=false.
func TestGatewayEarlyStart(t *testing.T) {
	for _, early := range []bool{true, false} {
		t.Run(fmt.Sprintf("LLM_EARLY_START=%v", early), func(t *testing.T) {
			s := newGatewayServer(t, "LLM_EARLY_START", fmt.Sprint(early))
			s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: s.admin, Body: chatBody(100, "")}).
				WantStatus(t, http.StatusOK)
			if n := earlyStarts(t, s.App.Registry(), "reserved"); n != 0 {
				t.Errorf("early starts after the first call = %v, want 0 (nothing known of the budget yet)", n)
			}

			release := s.lockBudget(t, "default", "default")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req := s.streamRequest(t, ctx, 100)
			type answer struct {
				resp *http.Response
				err  error
			}
			answered := make(chan answer, 1)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				answered <- answer{resp, err}
			}()
			if early {
				testenv.Wait(t, 5*time.Second, "the provider called while the reservation waits", func() bool { return s.fake.Calls() == 2 })
			}
			select {
			case a := <-answered:
				t.Fatalf("the client got an answer before the reservation was stored: %+v", a)
			case <-time.After(300 * time.Millisecond):
			}
			if !early && s.fake.Calls() != 1 {
				t.Errorf("provider calls = %d before the reservation, want 1 (the first call's)", s.fake.Calls())
			}
			release()
			a := <-answered
			if a.err != nil {
				t.Fatal(a.err)
			}
			defer func() { _ = a.resp.Body.Close() }()
			body, err := io.ReadAll(a.resp.Body)
			if err != nil || a.resp.StatusCode != http.StatusOK || !strings.HasSuffix(string(body), "data: [DONE]\n\n") ||
				!strings.Contains(string(body), "Hello") {
				t.Fatalf("status %d, body %q, %v", a.resp.StatusCode, body, err)
			}
			want := 0.0
			if early {
				want = 1
			}
			if n := earlyStarts(t, s.App.Registry(), "reserved"); n != want {
				t.Errorf("early starts = %v, want %v", n, want)
			}
			if b := s.budget(t, "default", "default"); b.Used != 34 || b.Reserved != 0 {
				t.Errorf("budget = used %d, reserved %d; want 34, 0", b.Used, b.Reserved)
			}
			if rows := s.calls(t); len(rows) != 2 || rows[1].Status != "succeeded" || !rows[1].Stream {
				t.Errorf("calls = %+v", rows)
			}
		})
	}
}

// A budget lowered behind the gateway's view refuses a call that started
// early: the client gets 409 budget.insufficient and nothing else, the
// provider call is cancelled, nothing is stored, reserved or dead-lettered
// and the breaker does not count it. The refusal closes the view, so the
// next call reserves first and never reaches the provider.
func TestGatewayEarlyStartRefused(t *testing.T) {
	s := newGatewayServer(t, "BREAKER_FAILURE_THRESHOLD", "1")
	s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: s.admin, Body: chatBody(100, "")}).
		WantStatus(t, http.StatusOK)
	s.setLimit(t, "default", "default", 20) // 17 used: 3 left, the view says far more
	s.fake.Set(func(f *testenv.FakeOpenAI) { f.Delay = 5 * time.Second })
	// The reservation waits for the budget row until the provider has the
	// early call, so the refusal has a provider call to cancel.
	release := s.lockBudget(t, "default", "default")
	refused := make(chan *testenv.Response, 1)
	go func() {
		r, err := s.SendErr(testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: s.admin,
			Body: chatBody(100, `,"stream":true`)})
		if err != nil {
			t.Error(err)
		}
		refused <- r
	}()
	testenv.Wait(t, 5*time.Second, "the provider called early", func() bool { return s.fake.Calls() == 2 })
	release()
	r := <-refused
	if r == nil {
		t.FailNow()
	}
	if e := r.WantError(t, http.StatusConflict, "budget.insufficient"); e.Details["available"] != float64(3) || e.Details["requested"] != float64(110) {
		t.Errorf("details = %v", e.Details)
	}
	testenv.Wait(t, 5*time.Second, "the early provider call cancelled", func() bool { return s.fake.Cancelled() == 1 })
	// The refusal closed the view: the next call reserves first.
	s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: s.admin, Body: chatBody(100, "")}).
		WantError(t, http.StatusConflict, "budget.insufficient")
	if n := s.fake.Calls(); n != 2 {
		t.Errorf("provider calls = %d, want 2 (the first call and the early one)", n)
	}
	if n := earlyStarts(t, s.App.Registry(), "refused"); n != 1 {
		t.Errorf("refused early starts = %v, want 1", n)
	}
	if b := s.budget(t, "default", "default"); b.Used != 17 || b.Reserved != 0 {
		t.Errorf("budget = used %d, reserved %d; want 17, 0", b.Used, b.Reserved)
	}
	if rows := s.calls(t); len(rows) != 1 {
		t.Errorf("calls = %+v; want only the first", rows)
	}
	var dead int64
	s.App.DB().DB.Model(&models.DLQMessage{}).Count(&dead)
	if dead != 0 {
		t.Errorf("%d dead letters; a refusal is not a failed call", dead)
	}
	if st := s.App.Breakers().States()["llm-openai"]; st != breaker.Closed {
		t.Errorf("breaker = %q; want closed", st)
	}
}

// Across replicas: replica a saw the budget with room, replica b spends it,
// and a's next call starts early on its stale view. The reservation is
// refused on the shared budget (409, nothing stored or reserved, never over
// the limit) and the provider call a started is cancelled. On PostgreSQL
// the replicas are two server processes; on SQLite two servers in this
// process on one database file.
func TestGatewayEarlyStartAcrossReplicas(t *testing.T) {
	fake := testenv.NewFakeOpenAI(t)
	fake.Set(func(f *testenv.FakeOpenAI) { f.PromptTokens, f.CompletionTokens = 10, 100 }) // = the estimate, 110
	env := testenv.New(t, "RATE_LIMITS_ENABLED", "false", "LLM_MODELS", testenv.FakeModels, "OPENAI_BASE_URL", fake.URL()+"/v1")
	a := env.Start(t)
	var b *testenv.Client
	if env.DatabaseURL != "" {
		vars := map[string]string{"LOG_LEVEL": "warn"}
		for _, name := range []string{"DATABASE_URL", "JWT_SECRET", "SEED_DEMO_USERS", "BCRYPT_COST", "RATE_LIMITS_ENABLED",
			"LLM_MODELS", "OPENAI_BASE_URL", "REDIS_KEY_PREFIX"} {
			vars[name] = env.Vars[name]
		}
		b = testenv.NewClient(testenv.Launch(t, testenv.BuildBinary(t), testenv.ProcessOptions{Env: vars}).BaseURL)
	} else {
		b = env.Start(t).Client
	}
	t.Cleanup(func() { a.App.Settled(); checkBudgetLedger(t, a.App.DB().DB) })
	admin := a.Token(t, "admin")
	call := func(c *testenv.Client, maxTokens int) *testenv.Response {
		t.Helper()
		r, err := c.SendErr(testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: admin,
			Body: chatBody(maxTokens, ""), Header: map[string]string{"X-Project-ID": "shared"}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a.Send(t, testenv.Request{Method: http.MethodPut, Path: "/api/v1/budget/limits", Token: admin,
		Body: map[string]any{"tenant_id": "default", "project_id": "shared", "total_limit": 1000}}).WantStatus(t, http.StatusOK)
	call(a.Client, 100).WantStatus(t, http.StatusOK) // a sees 890 left
	fake.Set(func(f *testenv.FakeOpenAI) { f.CompletionTokens = 870 })
	call(b, 870).WantStatus(t, http.StatusOK) // b uses 880 and leaves 10, within a's 2 s view

	// a's view is still fresh and says 890: its call starts early. The
	// reservation waits for the budget row until the provider has the call.
	fake.Set(func(f *testenv.FakeOpenAI) { f.Delay = 5 * time.Second })
	tx := a.App.DB().DB.Begin()
	t.Cleanup(func() { tx.Rollback() })
	if err := tx.Exec("UPDATE budget_limits SET total_limit = total_limit WHERE tenant_id = ? AND project_id = ?", "default", "shared").Error; err != nil {
		t.Fatal(err)
	}
	refused := make(chan *testenv.Response, 1)
	go func() {
		r, err := a.SendErr(testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: admin,
			Body: chatBody(100, ""), Header: map[string]string{"X-Project-ID": "shared"}})
		if err != nil {
			t.Error(err)
		}
		refused <- r
	}()
	testenv.Wait(t, 5*time.Second, "a's provider call started early", func() bool { return fake.Calls() == 3 })
	tx.Rollback()
	r := <-refused
	if r == nil {
		t.FailNow()
	}
	if e := r.WantError(t, http.StatusConflict, "budget.insufficient"); e.Details["available"] != float64(10) {
		t.Errorf("details = %v; want 10 available", e.Details)
	}
	testenv.Wait(t, 5*time.Second, "the early provider call cancelled", func() bool { return fake.Cancelled() == 1 })
	if n := earlyStarts(t, a.App.Registry(), "refused"); n != 1 {
		t.Errorf("refused early starts on a = %v, want 1", n)
	}
	var limit models.BudgetLimit
	if err := a.App.DB().DB.Where("tenant_id = ? AND project_id = ?", "default", "shared").Take(&limit).Error; err != nil {
		t.Fatal(err)
	}
	if limit.Used != 990 || limit.Reserved != 0 {
		t.Errorf("budget = used %d, reserved %d; want 990, 0", limit.Used, limit.Reserved)
	}
	var calls int64
	a.App.DB().DB.Model(&models.LLMCall{}).Where("project_id = ?", "shared").Count(&calls)
	if calls != 2 {
		t.Errorf("stored calls = %d, want 2 (none for the refused one)", calls)
	}
}

// A call with an Idempotency-Key claims its key in the reservation's
// transaction, so it never starts early: a concurrent retry must not reach
// the provider. With the view open, the provider is not called while its
// reservation waits for the budget row.
func TestGatewayEarlyStartNotForKeyedCalls(t *testing.T) {
	s := newGatewayServer(t)
	s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: s.admin, Body: chatBody(100, "")}).
		WantStatus(t, http.StatusOK) // the view is open
	release := s.lockBudget(t, "default", "default")
	answered := make(chan *testenv.Response, 1)
	go func() {
		r, err := s.SendErr(testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: s.admin,
			Body: chatBody(100, ""), Header: map[string]string{"Idempotency-Key": "k1"}})
		if err != nil {
			t.Error(err)
		}
		answered <- r
	}()
	time.Sleep(300 * time.Millisecond)
	if n := s.fake.Calls(); n != 1 {
		t.Errorf("provider calls while the keyed call's reservation waits = %d, want 1 (the first call's)", n)
	}
	release()
	if r := <-answered; r != nil {
		r.WantStatus(t, http.StatusOK)
	}
	if n := earlyStarts(t, s.App.Registry(), "reserved") + earlyStarts(t, s.App.Registry(), "refused"); n != 0 {
		t.Errorf("early starts = %v, want 0", n)
	}
}
