package handlers_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
)

// TestGatewayAbandonedPendingCall: a crash between reservation and
// settlement leaves a pending llm_calls row. While it is younger than the
// reservation's lifetime (BUDGET_RESERVATION_TTL) a retry with its key is
// 409; once older, concurrent retries take it over with exactly one winner,
// which calls the provider once and stores its answer under the key; the
// abandoned row is recorded as failed and gives its key up. Runs on SQLite
// and, with TEST_DATABASE_URL, on PostgreSQL.
func TestGatewayAbandonedPendingCall(t *testing.T) {
	s := newGatewayServer(t, "BUDGET_RESERVATION_TTL", "10m")
	s.fake.Set(func(f *testenv.FakeOpenAI) { f.Delay = 500 * time.Millisecond }) // the winner is still running while the others retry
	principal := s.Get(t, "/api/v1/auth/me", s.admin).WantStatus(t, http.StatusOK).Map(t)["principal_id"].(string)
	body := chatBody(100, "")
	sum := sha256.Sum256([]byte(body))
	crashed := func(key string, age time.Duration) models.LLMCall {
		t.Helper()
		row := models.LLMCall{
			ID: uuid.NewString(), TenantID: "default", ProjectID: "default", PrincipalID: principal, IdempotencyKey: &key,
			RequestHash: hex.EncodeToString(sum[:]), Model: "fake-mini", Provider: "openai", Status: "pending",
			EstimatedTokens: 110, CreatedAt: time.Now().UTC().Add(-age).Truncate(time.Microsecond),
		}
		if err := s.App.DB().DB.Create(&row).Error; err != nil {
			t.Fatal(err)
		}
		return row
	}
	send := func(key string) (*testenv.Response, error) {
		return s.SendErr(testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: s.admin,
			Body: body, Header: map[string]string{"Idempotency-Key": key}})
	}

	// Younger than the reservation's lifetime: it may still be running.
	crashed("young", 5*time.Minute)
	r, err := send("young")
	if err != nil {
		t.Fatal(err)
	}
	r.WantError(t, http.StatusConflict, "state.conflict")

	old := crashed("crashed", 11*time.Minute)
	const n = 8
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[string]int{}
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := send("crashed")
			key := "transport error"
			if err == nil {
				key = http.StatusText(r.Status)
				if r.Header.Get("Idempotency-Replayed") == "true" {
					key += " replayed" // came after the winner finished
				} else if r.Status != http.StatusOK {
					key += " " + r.Error(t).ErrorCode
				}
			}
			mu.Lock()
			statuses[key]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses["OK"] != 1 || statuses["OK replayed"]+statuses["Conflict state.conflict"] != n-1 {
		t.Errorf("answers = %v; want one 200 that called the provider, the others 409 state.conflict (or, once it ended, its replay)", statuses)
	}
	if calls := s.fake.Calls(); calls != 1 {
		t.Errorf("provider calls = %d, want 1", calls)
	}
	var was models.LLMCall
	if err := s.App.DB().DB.Where("id = ?", old.ID).Take(&was).Error; err != nil {
		t.Fatal(err)
	}
	if was.Status != "failed" || was.IdempotencyKey != nil || !strings.Contains(was.Error, "abandoned") || was.FinishedAt == nil {
		t.Errorf("abandoned row = status %s, key %v, error %q, finished %v; want failed, no key, abandoned", was.Status, was.IdempotencyKey, was.Error, was.FinishedAt)
	}
	var now []models.LLMCall
	if err := s.App.DB().DB.Where("idempotency_key = ?", "crashed").Find(&now).Error; err != nil {
		t.Fatal(err)
	}
	if len(now) != 1 || now[0].Status != "succeeded" || now[0].Response == nil || now[0].ID == old.ID {
		t.Fatalf("rows under the key = %+v; want one new succeeded call with its answer", now)
	}
	// The retry after that is the stored answer, billed once.
	r, err = send("crashed")
	if err != nil {
		t.Fatal(err)
	}
	if r.WantStatus(t, http.StatusOK).Header.Get("Idempotency-Replayed") != "true" {
		t.Error("the next retry was not replayed")
	}
	if b := s.budget(t, "default", "default"); b.Used != 17 || b.Reserved != 0 {
		t.Errorf("budget used %d reserved %d, want 17, 0", b.Used, b.Reserved)
	}
}
