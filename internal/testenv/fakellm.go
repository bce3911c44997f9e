package testenv

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FakeOpenAI is an OpenAI-compatible provider on a real HTTP server: POST
// /v1/chat/completions answers in the Chat Completions wire format,
// streaming (server-sent events, the usage chunk when stream_options asks)
// included. Errors, latency and missing usage can be injected. Point a
// server at it with OPENAI_BASE_URL=f.URL()+"/v1".
type FakeOpenAI struct {
	fakeProvider

	// RetryAfter is sent with an injected 429.
	RetryAfter string
	// NoUsage leaves the usage out of answers and streams.
	NoUsage bool
	// Delay is waited before answering.
	Delay time.Duration
	// Words is the reply, one stream chunk per word.
	Words []string
	// ChunkDelay is waited before each stream chunk.
	ChunkDelay time.Duration
	// PromptTokens and CompletionTokens are the reported usage.
	PromptTokens, CompletionTokens int64
}

// NewFakeOpenAI starts a fake provider that replies "Hello from the fake
// provider." with usage 10 + 7 tokens; it stops at test cleanup.
func NewFakeOpenAI(t testing.TB) *FakeOpenAI {
	f := &FakeOpenAI{Words: strings.Fields("Hello from the fake provider."), PromptTokens: 10, CompletionTokens: 7}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// Set changes the fake's settings under its lock.
func (f *FakeOpenAI) Set(change func(f *FakeOpenAI)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

func (f *FakeOpenAI) serve(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
		return
	}
	var req struct {
		Model         string `json:"model"`
		Stream        bool   `json:"stream"`
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	var body json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || json.Unmarshal(body, &req) != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"message": "bad JSON", "type": "invalid_request_error"}})
		return
	}
	f.mu.Lock()
	status := f.takeLocked(body, r.Header)
	delay, chunkDelay, noUsage, retryAfter := f.Delay, f.ChunkDelay, f.NoUsage, f.RetryAfter
	words := append([]string(nil), f.Words...)
	usage := map[string]any{"prompt_tokens": f.PromptTokens, "completion_tokens": f.CompletionTokens, "total_tokens": f.PromptTokens + f.CompletionTokens}
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			f.cancelled.Add(1)
			return
		}
	}
	if status != 0 {
		if status == http.StatusTooManyRequests && retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		writeJSON(w, status, map[string]any{"error": map[string]any{"message": fmt.Sprintf("injected %d", status), "type": "fake_error"}})
		return
	}
	id, created := "chatcmpl-fake", time.Now().Unix()
	if !req.Stream {
		answer := map[string]any{
			"id": id, "object": "chat.completion", "created": created, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": strings.Join(words, " ")}}},
		}
		if !noUsage {
			answer["usage"] = usage
		}
		writeJSON(w, http.StatusOK, answer)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	send := func(v any) bool {
		if chunkDelay > 0 {
			select {
			case <-time.After(chunkDelay):
			case <-r.Context().Done():
				f.cancelled.Add(1)
				return false
			}
		}
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			f.cancelled.Add(1)
			return false
		}
		flusher.Flush()
		return true
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		c := map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
		if req.StreamOptions.IncludeUsage {
			c["usage"] = nil
		}
		return c
	}
	if !send(chunk(map[string]any{"role": "assistant", "content": ""}, nil)) {
		return
	}
	for i, word := range words {
		if i > 0 {
			word = " " + word
		}
		if !send(chunk(map[string]any{"content": word}, nil)) {
			return
		}
	}
	if !send(chunk(map[string]any{}, "stop")) {
		return
	}
	if req.StreamOptions.IncludeUsage && !noUsage {
		if !send(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model,
			"choices": []any{}, "usage": usage}) {
			return
		}
	}
	_, _ = fmt.Fprint(w, "data: [DONE]\n\n")
	flusher.Flush()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// FakeModels is an LLM_MODELS value with the model "fake-mini" of the
// openai provider (upstream "fake-upstream"): $1 per million prompt tokens,
// $2 per million completion tokens, a 8192-token window, 256 default max tokens.
const FakeModels = `[{"name":"fake-mini","provider":"openai","upstream_model":"fake-upstream","input_price_per_million":1,"output_price_per_million":2,"context_window":8192,"default_max_tokens":256}]`
