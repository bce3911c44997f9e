package handlers_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// anthropicModels is an LLM_MODELS with the Anthropic model "claude-fake"
// (upstream "claude-upstream").
const anthropicModels = `[{"name":"claude-fake","provider":"anthropic","upstream_model":"claude-upstream","input_price_per_million":3,"output_price_per_million":15,"context_window":200000,"default_max_tokens":512}]`

func newAnthropicServer(t *testing.T) (*gatewayServer, *testenv.FakeAnthropic) {
	t.Helper()
	fake := testenv.NewFakeAnthropic(t)
	srv := testenv.Quick(t, "LLM_MODELS", anthropicModels, "ANTHROPIC_API_KEY", "sk-ant-test", "ANTHROPIC_BASE_URL", fake.URL())
	t.Cleanup(func() { srv.App.Settled(); checkBudgetLedger(t, srv.App.DB().DB) })
	return &gatewayServer{Server: srv, admin: srv.Token(t, "admin")}, fake
}

// An OpenAI client calls an Anthropic model: the request is translated to
// the Messages API (system prompt, max_tokens, stop, the key) and the
// answer back to a chat completion with the reported usage, committed with
// its cost.
func TestGatewayAnthropicTranslation(t *testing.T) {
	s, fake := newAnthropicServer(t)
	client := s.sdk(s.admin)
	got, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "claude-fake",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("Be brief."), openai.UserMessage("hi"), openai.UserMessage("there"),
		},
		MaxTokens: openai.Int(100),
		Stop:      openai.ChatCompletionNewParamsStopUnion{OfString: openai.String("END")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Model != "claude-fake" || got.Choices[0].Message.Content != "Hello from Claude." || got.Choices[0].FinishReason != "stop" ||
		got.Usage.PromptTokens != 12 || got.Usage.CompletionTokens != 5 {
		t.Errorf("answer = %s", got.RawJSON())
	}
	body, header := fake.Last()
	for _, want := range []string{`"model":"claude-upstream"`, `"max_tokens":100`, `"system":[{"text":"Be brief.","type":"text"}]`,
		`"stop_sequences":["END"]`, `{"text":"hi","type":"text"},{"text":"there","type":"text"}`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("upstream body %s lacks %s", body, want)
		}
	}
	if header.Get("Authorization") != "Bearer sk-ant-test" { // how anthropic-sdk-go v2 sends the key
		t.Errorf("authorization = %q", header.Get("Authorization"))
	}
	if b := s.budget(t, "default", "default"); b.Used != 17 || b.Reserved != 0 {
		t.Errorf("budget = used %d, reserved %d; want 17, 0", b.Used, b.Reserved)
	}
	if c := s.calls(t)[0]; c.Provider != "anthropic" || c.CostUSD != (12*3.0+5*15.0)/1e6 {
		t.Errorf("call = %+v", c)
	}
}

// A stream of Anthropic events reaches the OpenAI client as chunks, the
// usage chunk last, and the usage of message_start and message_delta is
// committed.
func TestGatewayAnthropicStream(t *testing.T) {
	s, _ := newAnthropicServer(t)
	client := s.sdk(s.admin)
	stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:         "claude-fake",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Choices[0].Message.Content != "Hello from Claude." || acc.Choices[0].FinishReason != "stop" || acc.Usage.TotalTokens != 17 {
		t.Errorf("accumulated = %q (%s), usage %+v", acc.Choices[0].Message.Content, acc.Choices[0].FinishReason, acc.Usage)
	}
	if b := s.budget(t, "default", "default"); b.Used != 17 || b.Reserved != 0 {
		t.Errorf("budget = used %d, reserved %d; want 17, 0", b.Used, b.Reserved)
	}
}

// Anthropic's errors take the same ways: an overload (529) is retried once,
// a 429 passes through with Retry-After, a message the translation cannot
// carry is 422 and reaches no provider.
func TestGatewayAnthropicErrors(t *testing.T) {
	s, fake := newAnthropicServer(t)
	client := s.sdk(s.admin)
	params := openai.ChatCompletionNewParams{
		Model: "claude-fake", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}
	fake.FailNext(529)
	if _, err := client.Chat.Completions.New(context.Background(), params); err != nil {
		t.Fatalf("after one 529: %v; want the retry to succeed", err)
	}
	if calls := fake.Calls(); calls != 2 {
		t.Errorf("provider calls = %d, want 2", calls)
	}
	fake.FailNext(http.StatusTooManyRequests)
	var apiErr *openai.Error
	_, err := client.Chat.Completions.New(context.Background(), params)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests {
		t.Errorf("provider 429: %v", err)
	}
	before := fake.Calls()
	s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: s.admin,
		Body: `{"model":"claude-fake","messages":[{"role":"tool","content":"x","tool_call_id":"1"}]}`}).
		WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	if fake.Calls() != before {
		t.Errorf("an untranslatable request reached the provider")
	}
	if rows := s.calls(t); len(rows) != 2 {
		t.Errorf("llm_calls = %d rows, want 2 (the retried call and the 429): the untranslatable request reserves nothing", len(rows))
	}
}
