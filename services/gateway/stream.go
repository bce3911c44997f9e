package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/errs"
)

// ChunkWriter is the client's end of a stream. The handler writes each
// chunk as a server-sent event and flushes it; the first Chunk sends the 200
// and the headers, after which an error can no longer change the status.
type ChunkWriter interface {
	Chunk(data []byte) error
	// Done ends a complete stream ("data: [DONE]").
	Done() error
}

// StreamBroken is the error of a stream that failed after its first chunk
// reached the client: the status was sent, so the handler can only end the
// stream with an error event. ClientGone is true when the client went away.
type StreamBroken struct {
	Err        error
	ClientGone bool
}

func (e *StreamBroken) Error() string { return "stream broken after the first chunk: " + e.Err.Error() }
func (e *StreamBroken) Unwrap() error { return e.Err }

// errClientGone marks a write to the client that failed.
var errClientGone = errors.New("the client went away")

// ChatStream makes a streaming call: as Chat, but each chunk is relayed as
// it arrives. A failure before the first chunk is retried once (when it
// counts against the provider) and answered as an error; after it, the
// stream ends. A client that goes away cancels the upstream call, and the
// tokens used so far are committed: the provider's usage when it sent it,
// else the prompt estimate plus the streamed text's.
func (s *Service) ChatStream(ctx context.Context, actor audit.Actor, in ChatInput, w ChunkWriter) (err error) {
	ctx, span := s.startCall(ctx, actor)
	defer func() { endSpan(span, err) }()
	c, err := s.parse(in)
	if err != nil {
		return err
	}
	traceCall(span, c)
	if !c.req.Stream {
		return errs.Validation(errs.FieldError{Field: "stream", Message: "must be true for ChatStream"})
	}
	started := s.o.Now()
	rec, replay, err := s.begin(ctx, actor, in, c)
	if err != nil || replay != nil {
		if replay != nil {
			// Only a stored non-stream answer replays, and its body hash
			// differs from a stream's; unreachable but kept safe.
			return errs.New(errs.CodeConflict, "a stream is not replayed")
		}
		return err
	}
	includeUsage := wantsUsage(c.req.StreamOptions)
	var (
		sent      bool
		textBytes int
		ttft      time.Duration
		usage     Usage
		reported  bool
		model     string
	)
	relay := func(chunk []byte) error {
		var view struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Usage json.RawMessage `json:"usage"`
			Model string          `json:"model"`
		}
		_ = json.Unmarshal(chunk, &view)
		if model == "" {
			model = view.Model
		}
		for _, ch := range view.Choices {
			textBytes += len(ch.Delta.Content)
		}
		if len(view.Choices) == 0 && len(view.Usage) > 0 && string(view.Usage) != "null" && !includeUsage {
			return nil // the usage chunk the gateway asked for, not the client
		}
		out, err := withModel(chunk, c.model.Name)
		if err != nil {
			out = chunk
		}
		if !sent {
			ttft = s.o.Now().Sub(started)
		}
		if err := w.Chunk(out); err != nil {
			return errors.Join(errClientGone, err)
		}
		sent = true
		return nil
	}
	err = s.attempt(ctx, c, func(ctx context.Context, p Provider, up Upstream) (bool, error) {
		var err error
		usage, reported, err = p.Stream(ctx, up, relay)
		return sent, err
	})
	if !reported {
		usage = Usage{PromptTokens: c.promptEstimate, CompletionTokens: textTokens(textBytes), Estimated: true}
	}
	if err == nil || sent {
		traceUsage(span, model, usage)
	}
	switch {
	case err == nil:
		// Settled before [DONE], so a client that reads its budget after
		// the stream ended sees the call committed.
		s.settle(ctx, actor, in, c, rec, usage, nil, outcome{status: "ok", ttft: ttft, started: started})
		if werr := w.Done(); werr != nil {
			return &StreamBroken{Err: werr, ClientGone: true}
		}
		return nil
	case !sent:
		s.fail(ctx, actor, in, c, rec, err, started)
		return publicError(err)
	}
	gone := errors.Is(err, errClientGone) || errors.Is(err, context.Canceled) || ctx.Err() != nil
	status := "error"
	if gone {
		status = "cancelled"
	}
	s.settle(ctx, actor, in, c, rec, usage, nil, outcome{status: status, err: err, ttft: ttft, started: started})
	return &StreamBroken{Err: err, ClientGone: gone}
}

// wantsUsage reads stream_options.include_usage of the client's request.
func wantsUsage(raw json.RawMessage) bool {
	var o struct {
		IncludeUsage bool `json:"include_usage"`
	}
	_ = json.Unmarshal(raw, &o)
	return o.IncludeUsage
}
