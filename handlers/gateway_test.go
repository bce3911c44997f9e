package handlers_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
)

// gatewayServer is a server whose gateway calls a fake OpenAI-compatible
// provider with the model testenv.FakeModels describes.
type gatewayServer struct {
	*testenv.Server
	fake  *testenv.FakeOpenAI
	admin string
}

func newGatewayServer(t testing.TB, kv ...string) *gatewayServer {
	t.Helper()
	fake := testenv.NewFakeOpenAI(t)
	srv := testenv.Quick(t, append([]string{"LLM_MODELS", testenv.FakeModels, "OPENAI_BASE_URL", fake.URL() + "/v1"}, kv...)...)
	t.Cleanup(func() { srv.App.Settled(); checkBudgetLedger(t, srv.App.DB().DB) })
	return &gatewayServer{Server: srv, fake: fake, admin: srv.Token(t, "admin")}
}

// sdk is the official OpenAI Go client pointed at the gateway, without
// retries of its own.
func (s *gatewayServer) sdk(token string, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(s.HTTP.URL + "/api/v1/"), option.WithAPIKey(token), option.WithMaxRetries(0),
	}, opts...)...)
}

func chatParams(maxTokens int64) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:     "fake-mini",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		MaxTokens: openai.Int(maxTokens),
	}
}

// chatBody is the JSON of chatParams(maxTokens): its estimate is 10 prompt
// tokens (3 + 4 framing, 2 for "user", 1 for "hi") plus maxTokens.
func chatBody(maxTokens int, extra string) string {
	return fmt.Sprintf(`{"model":"fake-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":%d%s}`, maxTokens, extra)
}

// budget reads a budget once the streams that ended have settled.
func (s *gatewayServer) budget(t *testing.T, tenant, project string) models.BudgetLimit {
	t.Helper()
	s.App.Settled()
	var b models.BudgetLimit
	if err := s.App.DB().DB.Where("tenant_id = ? AND project_id = ?", tenant, project).Take(&b).Error; err != nil {
		t.Fatalf("budget %s/%s: %v", tenant, project, err)
	}
	return b
}

// calls reads the stored calls once the streams that ended have settled.
func (s *gatewayServer) calls(t *testing.T) []models.LLMCall {
	t.Helper()
	s.App.Settled()
	var rows []models.LLMCall
	if err := s.App.DB().DB.Order("created_at").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

// streamRequest is a streamed call of the admin's with maxTokens, bound to
// ctx, for tests that read the raw server-sent events.
func (s *gatewayServer) streamRequest(t *testing.T, ctx context.Context, maxTokens int) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.HTTP.URL+"/api/v1/chat/completions",
		strings.NewReader(chatBody(maxTokens, `,"stream":true`)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.admin)
	return req
}

func (s *gatewayServer) setLimit(t *testing.T, tenant, project string, total int) {
	t.Helper()
	s.Send(t, testenv.Request{Method: http.MethodPut, Path: "/api/v1/budget/limits", Token: s.admin,
		Body: map[string]any{"tenant_id": tenant, "project_id": project, "total_limit": total}}).WantStatus(t, http.StatusOK)
}

// The official SDK calls the gateway as it would call OpenAI: the answer
// comes back with the public model name, the usage is committed on the
// caller's budget, and the call, its ledger row and its cost are stored.
func TestGatewayChatWithTheOpenAISDK(t *testing.T) {
	s := newGatewayServer(t)
	client := s.sdk(s.admin)
	got, err := client.Chat.Completions.New(context.Background(), chatParams(100),
		option.WithHeader("X-Project-ID", "sdk"), option.WithHeader("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Model != "fake-mini" || got.Choices[0].Message.Content != "Hello from the fake provider." || got.Usage.TotalTokens != 17 {
		t.Errorf("answer = model %q, content %q, usage %+v", got.Model, got.Choices[0].Message.Content, got.Usage)
	}
	body, header := s.fake.Last()
	if !strings.Contains(string(body), `"model":"fake-upstream"`) || !strings.Contains(string(body), `"max_tokens":100`) {
		t.Errorf("upstream body = %s; want the upstream model and max_tokens", body)
	}
	// Tracing is off (no OTEL_EXPORTER_OTLP_ENDPOINT): the client's trace
	// context goes upstream unchanged.
	if header.Get("Traceparent") != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" || header.Get("Authorization") != "" {
		t.Errorf("upstream headers: traceparent %q, authorization %q; want the client's traceparent propagated and no key (none configured)",
			header.Get("Traceparent"), header.Get("Authorization"))
	}
	// The platform admin named no tenant: DEFAULT_TENANT pays.
	if b := s.budget(t, "default", "sdk"); b.Used != 17 || b.Reserved != 0 {
		t.Errorf("budget default/sdk = used %d, reserved %d; want 17, 0", b.Used, b.Reserved)
	}
	calls := s.calls(t)
	if len(calls) != 1 {
		t.Fatalf("llm_calls rows = %d, want 1", len(calls))
	}
	c := calls[0]
	wantCost := (10*1.0 + 7*2.0) / 1e6
	if c.Status != "succeeded" || c.PromptTokens != 10 || c.CompletionTokens != 7 || c.CostUSD != wantCost ||
		c.EstimatedTokens != 110 || c.TenantID != "default" || c.ProjectID != "sdk" || c.Model != "fake-mini" {
		t.Errorf("llm_calls row = %+v", c)
	}
	var ledger struct {
		Model                          *string
		PromptTokens, CompletionTokens *int64
		CostUSD                        *float64
		DeltaUsed                      int64
	}
	if err := s.App.DB().DB.Table("budget_transactions").Where("reservation_id = ? AND kind = 'commit'", *c.ReservationID).Take(&ledger).Error; err != nil {
		t.Fatal(err)
	}
	if ledger.Model == nil || *ledger.Model != "fake-mini" || *ledger.PromptTokens != 10 || *ledger.CompletionTokens != 7 ||
		*ledger.CostUSD != wantCost || ledger.DeltaUsed != 17 {
		t.Errorf("commit ledger row = model %v, tokens %v/%v, cost %v, used %d", ledger.Model, ledger.PromptTokens, ledger.CompletionTokens, ledger.CostUSD, ledger.DeltaUsed)
	}
	models, err := client.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(models.Data) != 1 || models.Data[0].ID != "fake-mini" || models.Data[0].OwnedBy != "openai" {
		t.Errorf("models = %+v", models.Data)
	}
}

// A streamed call through the SDK: the chunks arrive in order with the
// public model name, the usage chunk the client asked for comes last, and
// the reported usage is committed.
func TestGatewayStreamWithTheOpenAISDK(t *testing.T) {
	s := newGatewayServer(t)
	client := s.sdk(s.admin)
	params := chatParams(100)
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := client.Chat.Completions.NewStreaming(context.Background(), params)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		chunk := stream.Current()
		acc.AddChunk(chunk)
		if chunk.Model != "fake-mini" {
			t.Errorf("chunk model = %q", chunk.Model)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Choices[0].Message.Content != "Hello from the fake provider." || acc.Usage.TotalTokens != 17 {
		t.Errorf("accumulated = %q, usage %+v", acc.Choices[0].Message.Content, acc.Usage)
	}
	if b := s.budget(t, "default", "default"); b.Used != 17 || b.Reserved != 0 {
		t.Errorf("budget = used %d, reserved %d; want 17, 0", b.Used, b.Reserved)
	}
	// Without include_usage the client gets no usage chunk, but the gateway
	// asked upstream for it and commits it.
	stream = client.Chat.Completions.NewStreaming(context.Background(), chatParams(100))
	for stream.Next() {
		if c := stream.Current(); len(c.Choices) == 0 {
			t.Errorf("a chunk without choices reached a client that asked for no usage: %s", c.RawJSON())
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if body, _ := s.fake.Last(); !strings.Contains(string(body), `"include_usage":true`) {
		t.Errorf("upstream body = %s; want stream_options.include_usage", body)
	}
	if b := s.budget(t, "default", "default"); b.Used != 34 {
		t.Errorf("used = %d, want 34", b.Used)
	}
}

// A stream's answer ends before its commit: the client reads the whole
// answer while the budget row is locked by another transaction, the call's
// worst case stays reserved meanwhile, and the commit lands (and Settled
// returns) once the row is free.
func TestGatewayStreamEndsBeforeItsCommit(t *testing.T) {
	s := newGatewayServer(t)
	s.fake.Set(func(f *testenv.FakeOpenAI) { f.ChunkDelay = 20 * time.Millisecond })
	// A stream that waited for its commit would never end here: give up.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(s.streamRequest(t, ctx, 100))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	r := bufio.NewReader(resp.Body)
	first, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(first, "data: {") {
		t.Fatalf("first line %q, %v", first, err)
	}
	// The reservation is stored (the first chunk came after it); hold the
	// budget row until the answer is read.
	tx := s.App.DB().DB.Begin()
	defer tx.Rollback()
	if err := tx.Exec("UPDATE budget_limits SET total_limit = total_limit WHERE tenant_id = ? AND project_id = ?", "default", "default").Error; err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil || !strings.HasSuffix(string(rest), "data: [DONE]\n\n") {
		t.Fatalf("rest of the stream %q, %v", rest, err)
	}
	var b models.BudgetLimit
	if err := tx.Where("tenant_id = ? AND project_id = ?", "default", "default").Take(&b).Error; err != nil {
		t.Fatal(err)
	}
	if b.Used != 0 || b.Reserved != 110 {
		t.Errorf("budget when the answer ended = used %d, reserved %d; want 0, 110 (the worst case, not yet committed)", b.Used, b.Reserved)
	}
	settled := make(chan struct{})
	go func() { s.App.Settled(); close(settled) }()
	select {
	case <-settled:
		t.Fatal("Settled returned while the commit could not run")
	case <-time.After(200 * time.Millisecond):
	}
	tx.Rollback()
	<-settled
	if b := s.budget(t, "default", "default"); b.Used != 17 || b.Reserved != 0 {
		t.Errorf("budget after the commit = used %d, reserved %d; want 17, 0", b.Used, b.Reserved)
	}
	if rows := s.calls(t); len(rows) != 1 || rows[0].Status != "succeeded" || rows[0].CompletionTokens != 7 {
		t.Errorf("calls = %+v", rows)
	}
}

// Errors reach the SDK as its API errors: an unknown model is 404, a
// provider 429 passes through with its Retry-After (and does not trip the
// breaker), a budget that cannot cover the worst case is 409.
func TestGatewayErrorsAsSDKErrors(t *testing.T) {
	s := newGatewayServer(t, "BREAKER_FAILURE_THRESHOLD", "1")
	client := s.sdk(s.admin)
	var apiErr *openai.Error

	params := chatParams(100)
	params.Model = "gpt-5"
	_, err := client.Chat.Completions.New(context.Background(), params)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || !strings.Contains(string(apiErr.DumpResponse(true)), "resource.not_found") {
		t.Errorf("unknown model: %v; want a 404 resource.not_found", err)
	}

	s.fake.Set(func(f *testenv.FakeOpenAI) { f.RetryAfter = "7" })
	s.fake.FailNext(http.StatusTooManyRequests, http.StatusTooManyRequests)
	for range 2 {
		_, err = client.Chat.Completions.New(context.Background(), chatParams(100))
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Response.Header.Get("Retry-After") != "7" {
			t.Fatalf("provider 429: %v; want 429 with Retry-After 7", err)
		}
	}
	if calls := s.fake.Calls(); calls != 2 {
		t.Errorf("provider calls = %d, want 2 (a 429 is not retried)", calls)
	}
	if _, err := client.Chat.Completions.New(context.Background(), chatParams(100)); err != nil {
		t.Errorf("after two 429s with a threshold of 1: %v; want the breaker still closed", err)
	}

	s.setLimit(t, "default", "small", 50)
	_, err = client.Chat.Completions.New(context.Background(), chatParams(100), option.WithHeader("X-Project-ID", "small"))
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusConflict || !strings.Contains(string(apiErr.DumpResponse(true)), "budget.insufficient") {
		t.Errorf("small budget: %v; want 409 budget.insufficient", err)
	}
	if b := s.budget(t, "default", "default"); b.Used != 17 || b.Reserved != 0 {
		t.Errorf("budget = used %d, reserved %d; want only the successful call's 17", b.Used, b.Reserved)
	}
}

// A 5xx is retried once before any byte reached the client; the call is
// billed once. Failures that persist open the provider's breaker, after
// which the gateway answers 503 without calling the provider, releases
// every reservation, and dead-letters the failed calls.
func TestGatewayRetryAndBreaker(t *testing.T) {
	s := newGatewayServer(t, "BREAKER_FAILURE_THRESHOLD", "2", "BREAKER_OPEN_TIMEOUT", "1h")
	s.fake.FailNext(http.StatusInternalServerError)
	s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: s.admin, Body: chatBody(100, "")}).
		WantStatus(t, http.StatusOK)
	if calls := s.fake.Calls(); calls != 2 {
		t.Errorf("provider calls = %d, want 2 (one retry)", calls)
	}
	if b := s.budget(t, "default", "default"); b.Used != 17 {
		t.Errorf("used = %d, want 17 (billed once)", b.Used)
	}

	s.fake.FailNext(502, 503, 500, 500)
	e := s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: s.admin, Body: chatBody(100, "")}).
		WantError(t, http.StatusServiceUnavailable, "service.unavailable")
	if e.Details["provider"] != "openai" || e.Details["upstream_status"] != float64(503) {
		t.Errorf("503 details = %v", e.Details)
	}
	before := s.fake.Calls()
	e = s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: s.admin, Body: chatBody(100, "")}).
		WantError(t, http.StatusServiceUnavailable, "service.unavailable")
	if e.Details["breaker"] != "llm-openai" || e.Details["state"] != "open" {
		t.Errorf("503 with the breaker open: details %v", e.Details)
	}
	if after := s.fake.Calls(); after != before {
		t.Errorf("provider called %d times while the breaker was open", after-before)
	}
	if b := s.budget(t, "default", "default"); b.Used != 17 || b.Reserved != 0 {
		t.Errorf("budget = used %d, reserved %d; want failures released", b.Used, b.Reserved)
	}
	rows := s.calls(t)
	if len(rows) != 3 || rows[1].Status != "failed" || rows[2].Status != "failed" || rows[1].Error == "" {
		t.Errorf("llm_calls = %+v; want one succeeded and two failed", rows)
	}
	testenv.Wait(t, 10*time.Second, "the failed calls in the DLQ", func() bool {
		var n int64
		s.App.DB().DB.Model(&models.DLQMessage{}).Where("original_subject = ?", "llm.openai").Count(&n)
		return n == 2
	})
	var dl models.DLQMessage
	if err := s.App.DB().DB.Where("original_subject = ?", "llm.openai").Take(&dl).Error; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dl.Data), `"model":"fake-mini"`) || strings.Contains(string(dl.Data), "Bearer") || dl.Error == "" {
		t.Errorf("dead letter = %s (error %q)", dl.Data, dl.Error)
	}
}

// Retries with one Idempotency-Key bill once and call the provider once;
// the same key with another body is 409 idempotency.conflict.
func TestGatewayIdempotentRetryBillsOnce(t *testing.T) {
	s := newGatewayServer(t)
	send := func(body string) *testenv.Response {
		return s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: s.admin,
			Body: body, Header: map[string]string{"Idempotency-Key": "once"}})
	}
	first := send(chatBody(100, "")).WantStatus(t, http.StatusOK)
	again := send(chatBody(100, "")).WantStatus(t, http.StatusOK)
	if again.Header.Get("Idempotency-Replayed") != "true" || string(again.Body) != string(first.Body) {
		t.Errorf("retry: replayed %q, body %s; want the first answer %s", again.Header.Get("Idempotency-Replayed"), again.Body, first.Body)
	}
	send(chatBody(50, "")).WantError(t, http.StatusConflict, "idempotency.conflict")
	if calls := s.fake.Calls(); calls != 1 {
		t.Errorf("provider calls = %d, want 1", calls)
	}
	if b := s.budget(t, "default", "default"); b.Used != 17 {
		t.Errorf("used = %d, want 17 (billed once)", b.Used)
	}
	// A failed call gives its key up: the retry is a new call.
	s.fake.FailNext(http.StatusBadRequest)
	retry := func() *testenv.Response {
		return s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: s.admin,
			Body: chatBody(100, ""), Header: map[string]string{"Idempotency-Key": "after-failure"}})
	}
	retry().WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	retry().WantStatus(t, http.StatusOK)
}

// 200 concurrent calls against a budget that fits 50 worst cases, each
// using its whole estimate: exactly 50 are served, the others are refused
// with budget.insufficient, nothing is over-allocated and every
// reservation is settled.
func TestGatewayConcurrentCallsNeverOverAllocate(t *testing.T) {
	s := newGatewayServer(t, "RATE_LIMITS_ENABLED", "false")
	s.fake.Set(func(f *testenv.FakeOpenAI) { f.PromptTokens, f.CompletionTokens = 10, 100 }) // = the estimate, 110
	s.setLimit(t, "default", "hot", 50*110)
	const n = 200
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[string]int{}
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.SendErr(testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: s.admin,
				Body: chatBody(100, ""), Header: map[string]string{"X-Project-ID": "hot"}})
			key := "transport error"
			if err == nil {
				key = fmt.Sprint(r.Status)
				if r.Status != http.StatusOK {
					key += " " + r.Error(t).ErrorCode
				}
			}
			mu.Lock()
			statuses[key]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses["200"] != 50 || statuses["409 budget.insufficient"] != n-50 {
		t.Errorf("answers = %v; want 50 × 200 and %d × 409 budget.insufficient", statuses, n-50)
	}
	b := s.budget(t, "default", "hot")
	if b.Used != 50*110 || b.Reserved != 0 || b.Used+b.Reserved > b.TotalLimit {
		t.Errorf("budget = %+v; want all %d used, nothing reserved", b, 50*110)
	}
	var pending int64
	s.App.DB().DB.Model(&models.BudgetReservation{}).Where("status = 'pending'").Count(&pending)
	if pending != 0 {
		t.Errorf("%d reservations still pending", pending)
	}
}

// A client that disconnects mid-stream cancels the upstream call; the
// tokens streamed so far are committed (estimated: the provider had sent
// no usage yet) and nothing stays reserved.
func TestGatewayDisconnectMidStream(t *testing.T) {
	s := newGatewayServer(t)
	s.fake.Set(func(f *testenv.FakeOpenAI) {
		f.Words = strings.Fields(strings.Repeat("word ", 1000))
		f.ChunkDelay = 5 * time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := http.DefaultClient.Do(s.streamRequest(t, ctx, 2000))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	for read := 0; read < 5 && sc.Scan(); {
		if strings.HasPrefix(sc.Text(), "data: ") {
			read++
		}
	}
	cancel()
	_ = resp.Body.Close()
	testenv.Wait(t, 10*time.Second, "the upstream stream cancelled", func() bool { return s.fake.Cancelled() == 1 })
	testenv.Wait(t, 10*time.Second, "the call settled", func() bool {
		rows := s.calls(t)
		return len(rows) == 1 && rows[0].Status != "pending"
	})
	row := s.calls(t)[0]
	b := s.budget(t, "default", "default")
	if row.Status != "failed" || row.CompletionTokens < 1 || row.CompletionTokens > 700 || b.Used != row.PromptTokens+row.CompletionTokens || b.Reserved != 0 {
		t.Errorf("after the disconnect: call %+v, budget used %d reserved %d; want the streamed tokens committed", row, b.Used, b.Reserved)
	}
}

// Without models, or without the key of their provider, the gateway
// answers 503 naming what to set; the server runs.
func TestGatewayUnconfigured(t *testing.T) {
	srv := testenv.Quick(t)
	admin := srv.Token(t, "admin")
	e := srv.Get(t, "/api/v1/models", admin).WantError(t, http.StatusServiceUnavailable, "service.unavailable")
	if !strings.Contains(e.Message, "LLM_MODELS_FILE") || !strings.Contains(e.Message, "OPENAI_API_KEY") {
		t.Errorf("message = %q; want it to name LLM_MODELS_FILE and OPENAI_API_KEY", e.Message)
	}
	srv = testenv.Quick(t, "LLM_MODELS", testenv.FakeModels)
	admin = srv.Token(t, "admin")
	e = srv.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: admin, Body: chatBody(10, "")}).
		WantError(t, http.StatusServiceUnavailable, "service.unavailable")
	if !strings.Contains(e.Message, "OPENAI_API_KEY") {
		t.Errorf("message = %q; want it to name OPENAI_API_KEY", e.Message)
	}
}

// A tenant-bound caller pays from its own tenant; naming another tenant is
// 404 whether it exists or not, and reaches no provider.
func TestGatewayTenancy(t *testing.T) {
	s := newGatewayServer(t)
	ensureTenant(t, s.Server, "globex")
	moveUser(t, s.Server, "operator", "acme")
	operator := s.Token(t, "operator")
	s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: operator, Body: chatBody(100, "")}).
		WantStatus(t, http.StatusOK)
	if b := s.budget(t, "acme", "default"); b.Used != 17 {
		t.Errorf("acme used = %d, want 17", b.Used)
	}
	for _, other := range []string{"globex", "nope"} {
		s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: operator, Body: chatBody(100, ""),
			Header: map[string]string{"X-Tenant-ID": other}}).WantError(t, http.StatusNotFound, "resource.not_found")
	}
	if calls := s.fake.Calls(); calls != 1 {
		t.Errorf("provider calls = %d, want 1", calls)
	}
	// The platform admin names a tenant with X-Tenant-ID.
	s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: s.admin, Body: chatBody(100, ""),
		Header: map[string]string{"X-Tenant-ID": "globex", "X-Project-ID": "p9"}}).WantStatus(t, http.StatusOK)
	if b := s.budget(t, "globex", "p9"); b.Used != 17 {
		t.Errorf("globex/p9 used = %d, want 17", b.Used)
	}
}

// GET /usage sums the ledger's gateway commits by model and by project,
// within a time range and the caller's tenant.
func TestGatewayUsage(t *testing.T) {
	s := newGatewayServer(t)
	ensureTenant(t, s.Server, "acme")
	for _, call := range []struct{ tenant, project string }{{"default", "a"}, {"default", "a"}, {"default", "b"}, {"acme", "a"}} {
		s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: s.admin, Body: chatBody(100, ""),
			Header: map[string]string{"X-Tenant-ID": call.tenant, "X-Project-ID": call.project}}).WantStatus(t, http.StatusOK)
	}
	// A failed call bills nothing and adds nothing.
	s.fake.FailNext(http.StatusBadRequest)
	s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: s.admin, Body: chatBody(100, "")}).
		WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	var got struct {
		Total struct {
			Calls, PromptTokens, CompletionTokens, TotalTokens int64
			CostUSD                                            float64 `json:"cost_usd"`
		}
		ByModel []struct {
			Model string
			Calls int64
		} `json:"by_model"`
		ByProject []struct {
			ProjectID   string `json:"project_id"`
			Calls       int64
			TotalTokens int64 `json:"total_tokens"`
		} `json:"by_project"`
	}
	s.Get(t, "/api/v1/usage?tenant_id=default", s.admin).WantStatus(t, http.StatusOK).JSON(t, &got)
	if got.Total.Calls != 3 || got.Total.CostUSD != 3*(10*1.0+7*2.0)/1e6 || len(got.ByModel) != 1 || got.ByModel[0].Model != "fake-mini" ||
		len(got.ByProject) != 2 || got.ByProject[0].ProjectID != "a" || got.ByProject[0].Calls != 2 || got.ByProject[0].TotalTokens != 34 {
		t.Errorf("usage of default = %+v", got)
	}
	// Every tenant for the platform admin naming none; nothing before the calls.
	s.Get(t, "/api/v1/usage", s.admin).WantStatus(t, http.StatusOK).JSON(t, &got)
	if got.Total.Calls != 4 {
		t.Errorf("usage of every tenant: %d calls, want 4", got.Total.Calls)
	}
	s.Get(t, "/api/v1/usage?until=2000-01-01T00:00:00Z", s.admin).WantStatus(t, http.StatusOK).JSON(t, &got)
	if got.Total.Calls != 0 || len(got.ByModel) != 0 {
		t.Errorf("usage until 2000: %+v, want nothing", got)
	}
	s.Get(t, "/api/v1/usage?since=yesterday", s.admin).WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	// A tenant-bound caller sees its own tenant and no other.
	moveUser(t, s.Server, "operator", "acme")
	operator := s.Token(t, "operator")
	s.Get(t, "/api/v1/usage", operator).WantStatus(t, http.StatusOK).JSON(t, &got)
	if got.Total.Calls != 1 {
		t.Errorf("acme's usage: %d calls, want 1", got.Total.Calls)
	}
	s.Get(t, "/api/v1/usage?tenant_id=default", operator).WantError(t, http.StatusNotFound, "resource.not_found")
}
