package handlers_test

import (
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
)

// chatAsKey sends a non-streaming chat completions call with an API key.
func chatAsKey(t *testing.T, c *testenv.Client, secret string, maxTokens int) *testenv.Response {
	t.Helper()
	r, err := c.SendErr(testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: secret, Body: chatBody(maxTokens, "")})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (s *gatewayServer) count(t *testing.T, model any) int64 {
	t.Helper()
	var n int64
	s.App.Settled()
	if err := s.App.DB().DB.Model(model).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// wantTokensLimited checks the 429 of a key's tokens-per-minute limit:
// the one error shape, its details and a Retry-After within the minute.
func wantTokensLimited(t *testing.T, r *testenv.Response, remaining, estimate int) {
	t.Helper()
	e := r.WantError(t, http.StatusTooManyRequests, "rate_limit.exceeded")
	if e.Details["scope"] != "tokens_per_minute" || e.Details["limit"] != float64(1000) ||
		e.Details["remaining"] != float64(remaining) || e.Details["estimated_tokens"] != float64(estimate) {
		t.Errorf("429 details = %v; want scope tokens_per_minute, limit 1000, remaining %d, estimated_tokens %d", e.Details, remaining, estimate)
	}
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After = %q, want 1 to 60 seconds", r.Header.Get("Retry-After"))
	}
}

// TestGatewayTokensPerMinute: an API key with tokens_per_minute 1,000
// (stored, shown and audited) is admitted while the worst cases of its calls
// fit in its minute; the one over is 429 with Retry-After, and nothing is
// reserved, sent upstream or dead-lettered for it. After a call the window
// is corrected to the tokens the provider reported, which lets the next
// call in. JWT callers are not limited. Runs on the embedded store, and on
// Redis when TEST_REDIS_URL is set.
func TestGatewayTokensPerMinute(t *testing.T) {
	s := newGatewayServer(t)
	var k keyCreated
	r := s.Post(t, "/api/v1/keys", s.admin, map[string]any{"name": "metered", "role": "developer", "tenant_id": "default", "tokens_per_minute": 1000}).
		WantStatus(t, http.StatusCreated)
	r.JSON(t, &k)
	if got := r.Map(t)["tokens_per_minute"]; got != float64(1000) {
		t.Errorf("created key tokens_per_minute = %v, want 1000", got)
	}
	if row := keyRow(t, s.Server, k.ID); row.TokensPerMinute == nil || *row.TokensPerMinute != 1000 {
		t.Errorf("stored tokens_per_minute = %v, want 1000", row.TokensPerMinute)
	}
	if a := auditRows(t, s.Server, "key.create"); len(a) != 1 || a[0].Details["tokens_per_minute"] != float64(1000) {
		t.Errorf("key.create audit = %+v; want tokens_per_minute in its details", a)
	}
	if got := s.Get(t, "/api/v1/keys/"+k.ID, s.admin).WantStatus(t, http.StatusOK).Map(t)["tokens_per_minute"]; got != float64(1000) {
		t.Errorf("GET key tokens_per_minute = %v, want 1000", got)
	}

	// Each call's worst case is 10 + 240 = 250 and it uses all of it.
	s.fake.Set(func(f *testenv.FakeOpenAI) { f.PromptTokens, f.CompletionTokens = 10, 240 })
	for range 4 {
		chatAsKey(t, s.Client, k.Secret, 240).WantStatus(t, http.StatusOK)
	}
	over := chatAsKey(t, s.Client, k.Secret, 240)
	wantTokensLimited(t, over, 0, 250)
	if calls := s.fake.Calls(); calls != 4 {
		t.Errorf("provider calls = %d, want 4: the refused call went upstream", calls)
	}
	if n := s.count(t, &models.BudgetReservation{}); n != 4 {
		t.Errorf("reservations = %d, want 4: the refused call reserved", n)
	}
	if n := s.count(t, &models.LLMCall{}); n != 4 {
		t.Errorf("llm_calls = %d, want 4: the refused call was recorded (and would be dead-lettered)", n)
	}
	if b := s.budget(t, "default", "default"); b.Used != 1000 || b.Reserved != 0 {
		t.Errorf("budget used %d reserved %d, want 1000, 0", b.Used, b.Reserved)
	}
	// JWT callers have no tokens-per-minute limit.
	for range 2 {
		s.Post(t, "/api/v1/chat/completions", s.admin, chatBody(900, "")).WantStatus(t, http.StatusOK)
	}

	// A second key: a call whose worst case is 900 uses 50; the correction
	// gives 850 back, so a second call of 900 fits (without it, 1,800 > 1,000).
	var k2 keyCreated
	s.Post(t, "/api/v1/keys", s.admin, map[string]any{"name": "corrected", "role": "developer", "tenant_id": "default", "tokens_per_minute": 1000}).
		WantStatus(t, http.StatusCreated).JSON(t, &k2)
	s.fake.Set(func(f *testenv.FakeOpenAI) { f.PromptTokens, f.CompletionTokens = 10, 40 })
	chatAsKey(t, s.Client, k2.Secret, 890).WantStatus(t, http.StatusOK)
	chatAsKey(t, s.Client, k2.Secret, 890).WantStatus(t, http.StatusOK)
	// Both were corrected to 50: 900 are left, not 950.
	wantTokensLimited(t, chatAsKey(t, s.Client, k2.Secret, 940), 900, 950)
	// A failed call is given back whole.
	s.fake.FailNext(http.StatusBadRequest)
	var k3 keyCreated
	s.Post(t, "/api/v1/keys", s.admin, map[string]any{"name": "failing", "role": "developer", "tenant_id": "default", "tokens_per_minute": 1000}).
		WantStatus(t, http.StatusCreated).JSON(t, &k3)
	chatAsKey(t, s.Client, k3.Secret, 890).WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	chatAsKey(t, s.Client, k3.Secret, 990).WantStatus(t, http.StatusOK)

	// A worst case above the whole limit can never fit: 422 on max_tokens.
	e := chatAsKey(t, s.Client, k2.Secret, 1000).WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	if !slices.Contains(errorFields(e), "max_tokens") {
		t.Errorf("422 details = %v, want the max_tokens field", e.Details)
	}
}

// TestKeyTokensPerMinuteRules: tokens_per_minute is a whole number from 1,
// 422 per field otherwise; a key without it shows null.
func TestKeyTokensPerMinuteRules(t *testing.T) {
	srv := testenv.Quick(t)
	admin := srv.Token(t, "admin")
	for name, v := range map[string]any{"zero": 0, "negative": -5, "too large": 1_000_000_001, "a string": "lots", "a fraction": 1.5} {
		t.Run(name, func(t *testing.T) {
			e := srv.Post(t, "/api/v1/keys", admin, map[string]any{"name": "x", "role": "observer", "tenant_id": "default", "tokens_per_minute": v}).
				WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
			if !slices.Contains(errorFields(e), "tokens_per_minute") {
				t.Errorf("422 details = %v, want the tokens_per_minute field", e.Details)
			}
		})
	}
	if n := len(auditRows(t, srv, "key.create")); n != 0 {
		t.Errorf("%d refused keys audited", n)
	}
	m := srv.Post(t, "/api/v1/keys", admin, map[string]any{"name": "x", "role": "observer", "tenant_id": "default"}).
		WantStatus(t, http.StatusCreated).Map(t)
	if v, ok := m["tokens_per_minute"]; !ok || v != nil {
		t.Errorf("key without a limit: tokens_per_minute = %v (present %v), want null", v, ok)
	}
}

// TestGatewayTokensPerMinuteAcrossReplicas: 16 concurrent calls of one key
// (1,000 tokens a minute, 250 per call, all of it used) through two
// replicas sharing one Redis: exactly 4 reach the provider, the others are
// 429. On PostgreSQL the replicas are two server processes; on SQLite,
// which one process owns, two servers in this process on one database file.
func TestGatewayTokensPerMinuteAcrossReplicas(t *testing.T) {
	redisURL := os.Getenv("TEST_REDIS_URL")
	if redisURL == "" {
		rs := testenv.NewRedisServer(t)
		rs.Start(t)
		redisURL = rs.URL()
	}
	fake := testenv.NewFakeOpenAI(t)
	fake.Set(func(f *testenv.FakeOpenAI) {
		f.PromptTokens, f.CompletionTokens = 10, 240
		f.Delay = 200 * time.Millisecond // the admitted calls overlap
	})
	env := testenv.New(t, "RATE_LIMIT_STORAGE_URI", redisURL, "LLM_MODELS", testenv.FakeModels, "OPENAI_BASE_URL", fake.URL()+"/v1")
	a := env.Start(t)
	var b *testenv.Client
	if env.DatabaseURL != "" {
		vars := map[string]string{"LOG_LEVEL": "warn"}
		for _, name := range []string{"DATABASE_URL", "JWT_SECRET", "SEED_DEMO_USERS", "BCRYPT_COST", "RATE_LIMIT_STORAGE_URI",
			"RATE_LIMIT_PREFIX", "RATE_LIMIT_ADMIN", "RATE_LIMIT_DEVELOPER", "LLM_MODELS", "OPENAI_BASE_URL", "REDIS_KEY_PREFIX"} {
			vars[name] = env.Vars[name]
		}
		b = testenv.NewClient(testenv.Launch(t, testenv.BuildBinary(t), testenv.ProcessOptions{Env: vars}).BaseURL)
	} else {
		b = env.Start(t).Client
	}
	admin := a.Token(t, "admin")
	var k keyCreated
	a.Post(t, "/api/v1/keys", admin, map[string]any{"name": "shared", "role": "developer", "tenant_id": "default", "tokens_per_minute": 1000}).
		WantStatus(t, http.StatusCreated).JSON(t, &k)

	const n = 16
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := []*testenv.Client{a.Client, b}[i%2]
			r, err := c.SendErr(testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: k.Secret, Body: chatBody(240, "")})
			status := 0
			if err == nil {
				status = r.Status
				if status == http.StatusTooManyRequests && r.Header.Get("Retry-After") == "" {
					t.Error("429 without Retry-After")
				}
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[http.StatusOK] != 4 || statuses[http.StatusTooManyRequests] != n-4 {
		t.Errorf("answers = %v; want 4 × 200 and %d × 429", statuses, n-4)
	}
	if calls := fake.Calls(); calls != 4 {
		t.Errorf("provider calls = %d, want 4", calls)
	}
	var used int64
	if err := a.App.DB().DB.Model(&models.LLMCall{}).Select("COALESCE(SUM(prompt_tokens + completion_tokens), 0)").Scan(&used).Error; err != nil {
		t.Fatal(err)
	}
	if used != 1000 {
		t.Errorf("tokens used by the key's calls = %d, want 1000 (the whole minute, never more)", used)
	}
}
