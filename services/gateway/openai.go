package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// OpenAI calls the Chat Completions API of OpenAI or of any server that
// speaks it (vLLM, Ollama, LiteLLM, Azure-compatible proxies) at BaseURL.
// It uses plain HTTP rather than the openai-go SDK: the gateway forwards the
// client's body as it came (fields this code does not know included) and
// relays the raw server-sent events, which an SDK would decode into its own
// types and re-encode.
type OpenAI struct {
	// BaseURL is the API root, e.g. https://api.openai.com/v1.
	BaseURL string
	// APIKey is sent as a bearer token when set.
	APIKey string
	// Client makes the requests (http.DefaultClient when nil).
	Client *http.Client
}

var _ Provider = (*OpenAI)(nil)

// maxAnswerBytes bounds a non-streaming answer and one stream line.
const maxAnswerBytes = 16 << 20

func (p *OpenAI) client() *http.Client {
	if p.Client != nil {
		return p.Client
	}
	return http.DefaultClient
}

func (p *OpenAI) post(ctx context.Context, req Upstream) (*http.Response, error) {
	url := strings.TrimRight(p.BaseURL, "/") + "/chat/completions"
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(req.Body))
	if err != nil {
		return nil, &UpstreamError{Provider: ProviderOpenAI, Err: err}
	}
	for k, v := range req.Header {
		hr.Header[k] = v
	}
	hr.Header.Set("Content-Type", "application/json")
	if p.APIKey != "" {
		hr.Header.Set("Authorization", "Bearer "+p.APIKey)
	}
	resp, err := p.client().Do(hr)
	if err != nil {
		return nil, &UpstreamError{Provider: ProviderOpenAI, Err: err}
	}
	if resp.StatusCode/100 != 2 {
		defer func() { _ = resp.Body.Close() }()
		return nil, upstreamFailure(ProviderOpenAI, resp)
	}
	return resp, nil
}

// upstreamFailure reads a provider's error answer: the status, Retry-After
// and the message of an OpenAI or Anthropic error body.
func upstreamFailure(provider string, resp *http.Response) *UpstreamError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	msg := http.StatusText(resp.StatusCode)
	if json.Unmarshal(b, &body) == nil && body.Error.Message != "" {
		msg = body.Error.Message
	}
	return &UpstreamError{Provider: provider, Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After"), Message: msg}
}

// openAIUsage is the usage object of an answer or of the final stream chunk.
type openAIUsage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
}

// Complete implements Provider.
func (p *OpenAI) Complete(ctx context.Context, req Upstream) (Completion, error) {
	resp, err := p.post(ctx, req)
	if err != nil {
		return Completion{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return Completion{}, &UpstreamError{Provider: ProviderOpenAI, Err: fmt.Errorf("read answer: %w", err)}
	}
	var answer struct {
		Usage *openAIUsage `json:"usage"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return Completion{}, &UpstreamError{Provider: ProviderOpenAI, Status: http.StatusBadGateway, Message: "the answer is not JSON"}
	}
	c := Completion{Body: b}
	if answer.Usage != nil {
		c.Usage = Usage{PromptTokens: answer.Usage.PromptTokens, CompletionTokens: answer.Usage.CompletionTokens}
		c.UsageReported = true
	}
	return c, nil
}

// Stream implements Provider: it relays the data lines of the server-sent
// events up to "[DONE]", and reads the usage of the chunk that carries it.
func (p *OpenAI) Stream(ctx context.Context, req Upstream, emit func([]byte) error) (Usage, bool, error) {
	resp, err := p.post(ctx, req)
	if err != nil {
		return Usage{}, false, err
	}
	defer func() { _ = resp.Body.Close() }()
	var (
		usage    Usage
		reported bool
	)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), maxAnswerBytes)
	for sc.Scan() {
		line := sc.Bytes()
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue
		}
		data = bytes.TrimSpace(data)
		if string(data) == "[DONE]" {
			return usage, reported, nil
		}
		var chunk struct {
			Usage *openAIUsage `json:"usage"`
		}
		if json.Unmarshal(data, &chunk) == nil && chunk.Usage != nil {
			usage = Usage{PromptTokens: chunk.Usage.PromptTokens, CompletionTokens: chunk.Usage.CompletionTokens}
			reported = true
		}
		if err := emit(data); err != nil {
			return usage, reported, err
		}
	}
	if err := sc.Err(); err != nil {
		return usage, reported, &UpstreamError{Provider: ProviderOpenAI, Err: fmt.Errorf("read stream: %w", err)}
	}
	if ctx.Err() != nil {
		return usage, reported, &UpstreamError{Provider: ProviderOpenAI, Err: ctx.Err()}
	}
	return usage, reported, &UpstreamError{Provider: ProviderOpenAI, Err: errors.New("the stream ended without [DONE]")}
}
