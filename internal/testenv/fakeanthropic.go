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

// FakeAnthropic is an Anthropic Messages API on a real HTTP server: POST
// /v1/messages answers a message, or with "stream": true the named
// server-sent events (message_start, content_block_*, message_delta,
// message_stop). Errors, latency and missing usage can be injected. Point a
// server at it with ANTHROPIC_BASE_URL=f.URL().
type FakeAnthropic struct {
	fakeProvider

	// Words is the reply, one text delta per word.
	Words []string
	// ChunkDelay is waited before each stream event.
	ChunkDelay time.Duration
	// InputTokens and OutputTokens are the reported usage.
	InputTokens, OutputTokens int64
}

// NewFakeAnthropic starts a fake Anthropic API that replies "Hello from
// Claude." with usage 12 + 5 tokens; it stops at test cleanup.
func NewFakeAnthropic(t testing.TB) *FakeAnthropic {
	f := &FakeAnthropic{Words: strings.Fields("Hello from Claude."), InputTokens: 12, OutputTokens: 5}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// Set changes the fake's settings under its lock.
func (f *FakeAnthropic) Set(change func(f *FakeAnthropic)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

func (f *FakeAnthropic) serve(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		writeJSON(w, http.StatusNotFound, anthropicError("not_found_error", "not found"))
		return
	}
	var req struct {
		Model     string `json:"model"`
		MaxTokens int64  `json:"max_tokens"`
		Stream    bool   `json:"stream"`
		Messages  []struct {
			Role string `json:"role"`
		} `json:"messages"`
	}
	var body json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || json.Unmarshal(body, &req) != nil || req.MaxTokens < 1 || len(req.Messages) == 0 {
		writeJSON(w, http.StatusBadRequest, anthropicError("invalid_request_error", "max_tokens and messages are required"))
		return
	}
	f.mu.Lock()
	status := f.takeLocked(body, r.Header)
	words, chunkDelay := append([]string(nil), f.Words...), f.ChunkDelay
	in, out := f.InputTokens, f.OutputTokens
	f.mu.Unlock()
	if status != 0 {
		writeJSON(w, status, anthropicError("api_error", fmt.Sprintf("injected %d", status)))
		return
	}
	id := "msg_fake"
	if !req.Stream {
		writeJSON(w, http.StatusOK, map[string]any{
			"id": id, "type": "message", "role": "assistant", "model": req.Model,
			"content":     []any{map[string]any{"type": "text", "text": strings.Join(words, " ")}},
			"stop_reason": "end_turn", "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": in, "output_tokens": out},
		})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	send := func(event string, v any) bool {
		if chunkDelay > 0 {
			select {
			case <-time.After(chunkDelay):
			case <-r.Context().Done():
				f.cancelled.Add(1)
				return false
			}
		}
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			f.cancelled.Add(1)
			return false
		}
		flusher.Flush()
		return true
	}
	if !send("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": req.Model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": map[string]any{"input_tokens": in, "output_tokens": 1}}}) {
		return
	}
	if !send("content_block_start", map[string]any{"type": "content_block_start", "index": 0,
		"content_block": map[string]any{"type": "text", "text": ""}}) {
		return
	}
	_ = send("ping", map[string]any{"type": "ping"})
	for i, word := range words {
		if i > 0 {
			word = " " + word
		}
		if !send("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
			"delta": map[string]any{"type": "text_delta", "text": word}}) {
			return
		}
	}
	if !send("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0}) {
		return
	}
	if !send("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": "end_turn", "stop_sequence": nil}, "usage": map[string]any{"output_tokens": out}}) {
		return
	}
	send("message_stop", map[string]any{"type": "message_stop"})
}

func anthropicError(kind, msg string) map[string]any {
	return map[string]any{"type": "error", "error": map[string]any{"type": kind, "message": msg}}
}
