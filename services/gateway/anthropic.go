package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/golden-architecture/control-plane/services/errs"
)

// Anthropic calls the Messages API through the official SDK
// (anthropic-sdk-go): the gateway translates anyway, from the OpenAI request
// to a message and from the answer, or the stream's typed events, back to
// the OpenAI format, so the SDK's types and event decoding are what is
// needed, and no raw bytes are relayed.
type Anthropic struct {
	client anthropic.Client
	now    func() time.Time
}

var _ Provider = (*Anthropic)(nil)

// NewAnthropic returns the provider for the API at baseURL (its root,
// e.g. https://api.anthropic.com). The SDK's own retries are off: the
// gateway retries once, before any byte reached the client.
func NewAnthropic(baseURL, apiKey string, client *http.Client) *Anthropic {
	opts := []option.RequestOption{option.WithBaseURL(baseURL), option.WithAPIKey(apiKey), option.WithMaxRetries(0)}
	if client != nil {
		opts = append(opts, option.WithHTTPClient(client))
	}
	return &Anthropic{client: anthropic.NewClient(opts...), now: time.Now}
}

// anthropicParams translates an OpenAI chat completions body: system and
// developer messages become the system prompt, user and assistant messages
// the conversation (consecutive ones of a role merged, as the Messages API
// wants them alternating), max_tokens (which the gateway always sets) and
// stop carry over. Tool calls and non-text parts are not translated.
func anthropicParams(body []byte, model string) (anthropic.MessageNewParams, error) {
	var req struct {
		Messages            []chatMessage   `json:"messages"`
		MaxTokens           *int64          `json:"max_tokens"`
		MaxCompletionTokens *int64          `json:"max_completion_tokens"`
		Stop                json.RawMessage `json:"stop"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return anthropic.MessageNewParams{}, fmt.Errorf("gateway: read request: %w", err)
	}
	p := anthropic.MessageNewParams{Model: anthropic.Model(model)}
	switch {
	case req.MaxCompletionTokens != nil:
		p.MaxTokens = *req.MaxCompletionTokens
	case req.MaxTokens != nil:
		p.MaxTokens = *req.MaxTokens
	}
	type turn struct {
		role   string
		blocks []anthropic.ContentBlockParamUnion
	}
	var turns []turn
	for i, m := range req.Messages {
		text, ok := contentText(m.Content)
		if !ok {
			return p, errs.Validation(errs.FieldError{Field: fmt.Sprintf("messages[%d].content", i),
				Message: "only text content is translated for anthropic models"})
		}
		switch m.Role {
		case "system", "developer":
			p.System = append(p.System, anthropic.TextBlockParam{Text: text})
		case "user", "assistant":
			block := anthropic.NewTextBlock(text)
			if n := len(turns); n > 0 && turns[n-1].role == m.Role {
				turns[n-1].blocks = append(turns[n-1].blocks, block)
				continue
			}
			turns = append(turns, turn{role: m.Role, blocks: []anthropic.ContentBlockParamUnion{block}})
		default:
			return p, errs.Validation(errs.FieldError{Field: fmt.Sprintf("messages[%d].role", i),
				Message: fmt.Sprintf("role %q is not translated for anthropic models", m.Role)})
		}
	}
	for _, t := range turns {
		if t.role == "user" {
			p.Messages = append(p.Messages, anthropic.NewUserMessage(t.blocks...))
		} else {
			p.Messages = append(p.Messages, anthropic.NewAssistantMessage(t.blocks...))
		}
	}
	if len(req.Stop) > 0 && string(req.Stop) != "null" {
		var one string
		if json.Unmarshal(req.Stop, &one) == nil {
			p.StopSequences = []string{one}
		} else if err := json.Unmarshal(req.Stop, &p.StopSequences); err != nil {
			return p, errs.Validation(errs.FieldError{Field: "stop", Message: "must be a string or a list of strings"})
		}
	}
	return p, nil
}

// contentText is the text of a message content: the string, or its text
// parts joined; false when it holds other parts.
func contentText(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return "", false
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return "", false
		}
		b.WriteString(p.Text)
	}
	return b.String(), true
}

// finishReason maps a stop reason to OpenAI's finish_reason.
func finishReason(r anthropic.StopReason) string {
	switch r {
	case anthropic.StopReasonMaxTokens, anthropic.StopReasonModelContextWindowExceeded:
		return "length"
	case anthropic.StopReasonToolUse:
		return "tool_calls"
	case anthropic.StopReasonRefusal:
		return "content_filter"
	}
	return "stop"
}

// anthropicFailure turns an SDK error into an UpstreamError.
func anthropicFailure(err error) error {
	var ae *anthropic.Error
	var e *errs.Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.As(err, &ae):
		ue := &UpstreamError{Provider: ProviderAnthropic, Status: ae.StatusCode, Message: ae.Message, Err: err}
		if ue.Message == "" {
			ue.Message = http.StatusText(ae.StatusCode)
		}
		if ae.Response != nil {
			ue.RetryAfter = ae.Response.Header.Get("Retry-After")
		}
		return ue
	}
	return &UpstreamError{Provider: ProviderAnthropic, Err: err}
}

func traceOptions(h http.Header) []option.RequestOption {
	var out []option.RequestOption
	for k, vs := range h {
		for _, v := range vs {
			out = append(out, option.WithHeaderAdd(k, v))
		}
	}
	return out
}

// Complete implements Provider.
func (p *Anthropic) Complete(ctx context.Context, req Upstream) (Completion, error) {
	params, err := anthropicParams(req.Body, req.Model.UpstreamModel)
	if err != nil {
		return Completion{}, err
	}
	msg, err := p.client.Messages.New(ctx, params, traceOptions(req.Header)...)
	if err != nil {
		return Completion{}, anthropicFailure(err)
	}
	var text strings.Builder
	for _, block := range msg.Content {
		if t, ok := block.AsAny().(anthropic.TextBlock); ok {
			text.WriteString(t.Text)
		}
	}
	usage := Usage{PromptTokens: msg.Usage.InputTokens, CompletionTokens: msg.Usage.OutputTokens}
	body, err := json.Marshal(map[string]any{
		"id": msg.ID, "object": "chat.completion", "created": p.now().Unix(), "model": string(msg.Model),
		"choices": []any{map[string]any{"index": 0, "finish_reason": finishReason(msg.StopReason),
			"message": map[string]any{"role": "assistant", "content": text.String()}}},
		"usage": openAIUsageOf(usage),
	})
	if err != nil {
		return Completion{}, err
	}
	return Completion{Body: body, Usage: usage, UsageReported: true}, nil
}

func openAIUsageOf(u Usage) map[string]any {
	return map[string]any{"prompt_tokens": u.PromptTokens, "completion_tokens": u.CompletionTokens, "total_tokens": u.Total()}
}

// Stream implements Provider: the stream's events become OpenAI chunks —
// message_start the role chunk, each text delta a content chunk,
// message_delta the finish_reason chunk, message_stop the usage chunk.
func (p *Anthropic) Stream(ctx context.Context, req Upstream, emit func([]byte) error) (Usage, bool, error) {
	params, err := anthropicParams(req.Body, req.Model.UpstreamModel)
	if err != nil {
		return Usage{}, false, err
	}
	stream := p.client.Messages.NewStreaming(ctx, params, traceOptions(req.Header)...)
	defer func() { _ = stream.Close() }()
	var (
		id, model string
		created   = p.now().Unix()
		usage     Usage
		reported  bool
	)
	chunk := func(delta map[string]any, finish any) error {
		b, err := json.Marshal(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}})
		if err != nil {
			return err
		}
		return emit(b)
	}
	for stream.Next() {
		var err error
		switch ev := stream.Current().AsAny().(type) {
		case anthropic.MessageStartEvent:
			id, model = ev.Message.ID, string(ev.Message.Model)
			usage.PromptTokens = ev.Message.Usage.InputTokens
			err = chunk(map[string]any{"role": "assistant", "content": ""}, nil)
		case anthropic.ContentBlockDeltaEvent:
			if t, ok := ev.Delta.AsAny().(anthropic.TextDelta); ok {
				err = chunk(map[string]any{"content": t.Text}, nil)
			}
		case anthropic.MessageDeltaEvent:
			usage.CompletionTokens = ev.Usage.OutputTokens
			if ev.Usage.InputTokens > 0 {
				usage.PromptTokens = ev.Usage.InputTokens
			}
			reported = true
			err = chunk(map[string]any{}, finishReason(ev.Delta.StopReason))
		case anthropic.MessageStopEvent:
			if reported {
				b, merr := json.Marshal(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created,
					"model": model, "choices": []any{}, "usage": openAIUsageOf(usage)})
				if merr != nil {
					return usage, reported, merr
				}
				if err := emit(b); err != nil {
					return usage, reported, err
				}
			}
			return usage, reported, nil
		}
		if err != nil {
			return usage, reported, err
		}
	}
	if err := stream.Err(); err != nil {
		return usage, reported, anthropicFailure(err)
	}
	return usage, reported, &UpstreamError{Provider: ProviderAnthropic, Err: errors.New("the stream ended without message_stop")}
}

// Check implements checker: a request the translation cannot carry is
// refused before anything is reserved.
func (p *Anthropic) Check(m Model, body []byte) error {
	_, err := anthropicParams(body, m.UpstreamModel)
	return err
}
