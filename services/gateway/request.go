package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/golden-architecture/control-plane/services/errs"
)

// chatRequest is what the gateway reads of an OpenAI chat completions
// request; the rest of the body is forwarded untouched.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	MaxTokens           *int64          `json:"max_tokens"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens"`
	Stream              bool            `json:"stream"`
	StreamOptions       json.RawMessage `json:"stream_options"`
}

// chatMessage is one message; content is a string or a list of parts.
type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	Name    string          `json:"name"`
}

// call is one parsed, checked request: the model it names, the body to
// forward (upstream model name and max tokens set), and its worst case.
type call struct {
	model     Model
	req       chatRequest
	body      map[string]json.RawMessage
	maxTokens int64
	// maxField is the request field maxTokens came from.
	maxField string
	// promptEstimate is the estimated prompt tokens; the reservation is
	// promptEstimate + maxTokens.
	promptEstimate int64
	hash           string
}

func (c *call) estimate() int64 { return c.promptEstimate + c.maxTokens }

// maxTokensField is the request field that sets the call's token cap.
func (c *call) maxTokensField() string { return c.maxField }

// maxKeyLength bounds an Idempotency-Key (as the budget routes do).
const maxKeyLength = 128

// parse reads and checks a call's body against the catalog, and its key.
func (s *Service) parse(in ChatInput) (*call, error) {
	body := in.Body
	if k := in.IdempotencyKey; len(k) > maxKeyLength || strings.IndexFunc(k, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0 {
		return nil, errs.Validation(errs.FieldError{Field: "Idempotency-Key", Message: "must be at most 128 printable ASCII characters"})
	}
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, errs.Validation(errs.FieldError{Field: te.Field, Message: "must be " + te.Type.String()})
		}
		return nil, errs.New(errs.CodeInvalidRequest, "the body is not a chat completions request (a JSON object)")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, errs.New(errs.CodeInvalidRequest, "the body is not a JSON object")
	}
	var problems []errs.FieldError
	add := func(field, msg string) { problems = append(problems, errs.FieldError{Field: field, Message: msg}) }
	if req.Model == "" {
		add("model", "is required")
	}
	if len(req.Messages) == 0 {
		add("messages", "must hold at least one message")
	}
	for i, m := range req.Messages {
		if m.Role == "" {
			add(fmt.Sprintf("messages[%d].role", i), "is required")
		}
	}
	if len(problems) > 0 {
		return nil, errs.Validation(problems...)
	}
	m, err := s.model(req.Model)
	if err != nil {
		return nil, err
	}
	c := &call{model: m, req: req, body: raw}
	c.maxTokens = m.DefaultMaxTokens
	field := "max_tokens"
	switch {
	case req.MaxCompletionTokens != nil:
		c.maxTokens, field = *req.MaxCompletionTokens, "max_completion_tokens"
	case req.MaxTokens != nil:
		c.maxTokens = *req.MaxTokens
	}
	if c.maxTokens < 1 || c.maxTokens > m.ContextWindow {
		return nil, errs.Validation(errs.FieldError{Field: field,
			Message: fmt.Sprintf("must be from 1 to the context window of %s (%d)", m.Name, m.ContextWindow)})
	}
	c.maxField = field
	c.promptEstimate = estimatePrompt(req.Messages)
	if c.promptEstimate+c.maxTokens > m.ContextWindow {
		return nil, errs.Validation(errs.FieldError{Field: "messages", Message: fmt.Sprintf(
			"about %d prompt tokens plus %s %d exceed the context window of %s (%d)",
			c.promptEstimate, field, c.maxTokens, m.Name, m.ContextWindow)})
	}
	if ch, ok := s.o.Providers[m.Provider].(checker); ok {
		if err := ch.Check(m, body); err != nil {
			return nil, err
		}
	}
	sum := sha256.Sum256(body)
	c.hash = hex.EncodeToString(sum[:])
	return c, nil
}

// estimatePrompt is an upper estimate of a prompt's tokens without the
// model's tokenizer: one token per 3 bytes of text (tokenizers average about
// 4 for English), plus a few tokens of framing per message. The provider's
// reported usage is what is committed; this only sizes the reservation.
func estimatePrompt(messages []chatMessage) int64 {
	n := int64(3)
	for _, m := range messages {
		n += 4 + textTokens(len(m.Role)+len(m.Name)) + textTokens(contentLen(m.Content))
	}
	return n
}

// textTokens is the estimate of n bytes of text.
func textTokens(n int) int64 { return int64((n + 2) / 3) }

// contentLen is the length of a message content's text: the string, or the
// text parts of a list (other parts count by their JSON size).
func contentLen(raw json.RawMessage) int {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == 'n' {
		return 0
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return len(s)
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		n := 0
		for _, p := range parts {
			if p.Type == "text" {
				n += len(p.Text)
			} else {
				n += 256
			}
		}
		return n
	}
	return len(raw)
}

// upstreamBody is the body sent to an OpenAI-compatible provider: the
// client's, with the upstream model name and an explicit token cap (the
// reservation's), and for a stream a request for the final usage chunk.
func (c *call) upstreamBody() ([]byte, error) {
	out := make(map[string]json.RawMessage, len(c.body)+2)
	for k, v := range c.body {
		out[k] = v
	}
	out["model"], _ = json.Marshal(c.model.UpstreamModel)
	if _, ok := out["max_completion_tokens"]; ok {
		out["max_completion_tokens"], _ = json.Marshal(c.maxTokens)
	} else {
		out["max_tokens"], _ = json.Marshal(c.maxTokens)
	}
	if c.req.Stream {
		out["stream_options"] = json.RawMessage(`{"include_usage":true}`)
	}
	return json.Marshal(out)
}
