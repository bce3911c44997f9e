package dlq

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Ensure creates or updates the DLQ stream and its durable pull consumer and
// returns the consumer. Every replica calls it; both calls are idempotent.
func Ensure(ctx context.Context, js jetstream.JetStream, o Options) (jetstream.Consumer, error) {
	o = o.withDefaults()
	cfg := jetstream.StreamConfig{
		Name:        o.Stream,
		Description: "Dead-letter queue: messages that failed processing, ingested into dlq_messages.",
		Subjects:    []string{o.subjects()},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      o.MaxAge,
	}
	_, err := js.CreateOrUpdateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		// Another replica created it between our update and create: update it now.
		_, err = js.CreateOrUpdateStream(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("create or update stream %s on %s: %w", o.Stream, o.subjects(), err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, o.Stream, jetstream.ConsumerConfig{
		Durable:       o.Consumer,
		Description:   "Ingests DLQ messages into the database; shared by every replica.",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       o.AckWait,
		MaxAckPending: o.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: o.subjects(),
		MaxDeliver:    -1,
	})
	if err != nil {
		return nil, fmt.Errorf("create or update consumer %s on stream %s: %w", o.Consumer, o.Stream, err)
	}
	return cons, nil
}

// Rejected reports whether err is the JetStream server refusing a request
// (a stream already capturing the subjects, a change it cannot apply) rather
// than being unreachable or temporarily unavailable (503, e.g. during a
// leader election): retrying a rejection does not help, so the service
// refuses to start on one and retries the others in the background.
func Rejected(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.Code != 503
}
