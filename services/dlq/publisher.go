package dlq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publisher sends a requeued message to its original subject. It is the one
// outbound call of a resolve, kept behind this interface so a circuit breaker
// (or a test) can wrap or replace it. dedupID names this publish: a transport
// that can deduplicate drops a repeat of the same id.
type Publisher interface {
	Publish(ctx context.Context, msg *nats.Msg, dedupID string) error
}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(ctx context.Context, msg *nats.Msg, dedupID string) error

// Publish implements Publisher.
func (f PublisherFunc) Publish(ctx context.Context, msg *nats.Msg, dedupID string) error {
	return f(ctx, msg, dedupID)
}

// NATSPublisher publishes through JetStream, with dedupID as Nats-Msg-Id and
// waiting for the stream's ack, when a stream captures the subject; through
// core NATS, flushed to the server, otherwise.
type NATSPublisher struct {
	Conn *nats.Conn
	JS   jetstream.JetStream
}

var _ Publisher = (*NATSPublisher)(nil)

// ErrNotConnected is returned instead of buffering a publish while the
// connection is down: a buffered publish may never reach the server, yet the
// message would be marked requeued.
var ErrNotConnected = errors.New("NATS is not connected")

// defaultPublishTimeout bounds a publish whose ctx has no deadline.
const defaultPublishTimeout = 5 * time.Second

// Publish implements Publisher.
func (p *NATSPublisher) Publish(ctx context.Context, msg *nats.Msg, dedupID string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultPublishTimeout)
		defer cancel()
	}
	if msg.Header == nil {
		msg.Header = nats.Header{}
	}
	if !p.Conn.IsConnected() {
		return fmt.Errorf("%w (%s)", ErrNotConnected, p.Conn.Status())
	}
	_, err := p.JS.StreamNameBySubject(ctx, msg.Subject)
	switch {
	case err == nil:
		_, err = p.JS.PublishMsg(ctx, msg, jetstream.WithMsgID(dedupID))
		if !errors.Is(err, jetstream.ErrNoStreamResponse) {
			if err != nil {
				return fmt.Errorf("JetStream publish to %s: %w", msg.Subject, err)
			}
			return nil
		}
		// The stream went away between the lookup and the publish.
		msg.Header.Del(jetstream.MsgIDHeader)
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return fmt.Errorf("look up the stream of %s: %w", msg.Subject, err)
	}
	if err := p.Conn.PublishMsg(msg); err != nil {
		return fmt.Errorf("publish to %s: %w", msg.Subject, err)
	}
	if err := p.Conn.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("flush publish to %s: %w", msg.Subject, err)
	}
	return nil
}
