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
// else the prompt estimate plus the streamed text's. The commit runs in the
// background, beside the stream's end instead of before it (Wait waits for
// it).
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
	callCtx, r, replay, err := s.begin(ctx, actor, in, c)
	if replay != nil {
		return streamNotReplayed()
	}
	if err != nil {
		return err
	}
	defer r.cancel(nil)
	includeUsage := wantsUsage(c.req.StreamOptions)
	var (
		sent      bool
		textBytes int
		ttft      time.Duration
		usage     Usage
		reported  bool
		model     string
	)
	var rec *record
	relay := func(chunk []byte) error {
		if rec == nil {
			// Nothing reaches the client before the reservation is stored.
			if rec, _, _ = r.wait(); rec == nil {
				return errNotReserved
			}
		}
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
	err = s.attempt(callCtx, c, func(ctx context.Context, p Provider, up Upstream) (bool, error) {
		var err error
		usage, reported, err = p.Stream(ctx, up, relay)
		return sent, err
	})
	rec, replay, rerr := r.wait()
	switch {
	case replay != nil:
		return streamNotReplayed()
	case rec == nil: // started early and not reserved: nothing was sent
		return rerr
	}
	if !reported {
		usage = Usage{PromptTokens: c.promptEstimate, CompletionTokens: textTokens(textBytes), Estimated: true}
	}
	if err == nil || sent {
		traceUsage(span, model, usage)
	}
	switch {
	case err == nil:
		// The commit runs beside the end of the answer, so its transaction
		// adds nothing to the client's wait; it is counted before [DONE]
		// is sent, so Wait after the stream covers it. Until it is done the
		// call's worst case stays reserved: the budget is never
		// over-allocated, only briefly under-used.
		o := outcome{status: "ok", ttft: ttft, started: started}
		s.afterAnswer.run(func() { s.settle(ctx, actor, in, c, rec, usage, nil, o) })
		if werr := w.Done(); werr != nil {
			return &StreamBroken{Err: werr, ClientGone: true}
		}
		return nil
	case !sent:
		s.fail(ctx, actor, in, c, rec, err, started)
		return publicError(err)
	}
	gone := errors.Is(err, errClientGone) || errors.Is(err, context.Canceled) || ctx.Err() != nil
	o := outcome{status: "error", err: err, ttft: ttft, started: started}
	if gone {
		o.status = "cancelled"
	}
	s.afterAnswer.run(func() { s.settle(ctx, actor, in, c, rec, usage, nil, o) })
	return &StreamBroken{Err: err, ClientGone: gone}
}

// streamNotReplayed answers a stream whose idempotency key found a stored
// call: only non-stream answers are stored, and their body hash differs
// from a stream's, so it is unreachable but kept safe.
func streamNotReplayed() error { return errs.New(errs.CodeConflict, "a stream is not replayed") }

// wantsUsage reads stream_options.include_usage of the client's request.
func wantsUsage(raw json.RawMessage) bool {
	var o struct {
		IncludeUsage bool `json:"include_usage"`
	}
	_ = json.Unmarshal(raw, &o)
	return o.IncludeUsage
}
