package dlq

import (
	"strings"
	"time"
)

// Options names the stream, subjects and consumer of the DLQ and bounds the
// ingest worker. Zero values take the defaults below.
type Options struct {
	// Stream is the JetStream stream capturing "<SubjectPrefix>.>".
	Stream string
	// SubjectPrefix is the first token(s) of every DLQ subject ("dlq"); the
	// rest of a subject is the original subject of the message.
	SubjectPrefix string
	// MaxAge is how long the stream keeps a message (rows are kept longer).
	MaxAge time.Duration
	// Consumer is the durable pull consumer shared by every replica.
	Consumer string
	// AckWait is how long the server waits for an ack before redelivering.
	AckWait time.Duration
	// MaxAckPending bounds the messages delivered but not yet acknowledged
	// across all replicas.
	MaxAckPending int
	// Batch is how many messages are buffered by one replica and stored in
	// one transaction; it bounds the worker's memory.
	Batch int
	// RetryMin and RetryMax bound the backoff between attempts to (re)create
	// the stream and consumer or to store a batch.
	RetryMin, RetryMax time.Duration
}

// Defaults for the zero fields of Options.
const (
	DefaultStream        = "DLQ"
	DefaultSubjectPrefix = "dlq"
	DefaultMaxAge        = 7 * 24 * time.Hour
	DefaultConsumer      = "control-plane-dlq"
	DefaultAckWait       = 30 * time.Second
	DefaultMaxAckPending = 1000
	DefaultBatch         = 250
)

func (o Options) withDefaults() Options {
	if o.Stream == "" {
		o.Stream = DefaultStream
	}
	if o.SubjectPrefix == "" {
		o.SubjectPrefix = DefaultSubjectPrefix
	}
	o.SubjectPrefix = strings.TrimSuffix(o.SubjectPrefix, ".")
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.Consumer == "" {
		o.Consumer = DefaultConsumer
	}
	if o.AckWait <= 0 {
		o.AckWait = DefaultAckWait
	}
	if o.MaxAckPending <= 0 {
		o.MaxAckPending = DefaultMaxAckPending
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	o.Batch = min(o.Batch, o.MaxAckPending)
	if o.RetryMin <= 0 {
		o.RetryMin = 200 * time.Millisecond
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(10*time.Second, o.RetryMin)
	}
	return o
}

// subjects is the filter of the stream and consumer.
func (o Options) subjects() string { return o.SubjectPrefix + ".>" }

// underPrefix reports whether subject would land in the DLQ itself.
func (o Options) underPrefix(subject string) bool {
	return subject == o.SubjectPrefix || strings.HasPrefix(subject, o.SubjectPrefix+".")
}
