package dlq

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
)

// Ingestor copies DLQ messages into the database. Every replica runs one on
// the same durable consumer; JetStream hands each message to one of them and
// the unique stream sequence stores it once even when it is delivered again.
type Ingestor struct {
	js      jetstream.JetStream
	db      *gorm.DB
	opts    Options
	metrics *Metrics
	log     *slog.Logger
}

// storeTimeout bounds storing and acknowledging one batch; the batch being
// stored when the worker is asked to stop is finished first.
const storeTimeout = 30 * time.Second

// gatherWait is how long the worker waits for more messages before storing a
// partial batch: short, so a lone message is stored at once.
const gatherWait = 5 * time.Millisecond

// NewIngestor returns the ingest worker of o's stream and consumer.
func NewIngestor(js jetstream.JetStream, db *gorm.DB, m *Metrics, log *slog.Logger, o Options) *Ingestor {
	return &Ingestor{js: js, db: db, opts: o.withDefaults(), metrics: m, log: log}
}

// Run ingests until ctx ends. It survives NATS restarts and database outages:
// the stream and consumer are (re)created and consumption restarted with
// exponential backoff after any failure, and at once after every reconnect
// (a server that came back without its state would otherwise drop dead
// letters until missing heartbeats revealed that the consumer is gone).
func (in *Ingestor) Run(ctx context.Context) {
	reconnects := watchReconnects(in.js.Conn())
	defer reconnects.close()
	delay := in.opts.RetryMin
	for ctx.Err() == nil {
		progressed, err := in.runOnce(ctx, reconnects)
		if ctx.Err() != nil {
			return
		}
		if progressed || errors.Is(err, errReconnected) {
			delay = in.opts.RetryMin
		}
		if errors.Is(err, errReconnected) {
			continue
		}
		in.log.Warn("dlq ingest interrupted; retrying",
			slog.String("stream", in.opts.Stream), slog.Int64("retry_in_ms", delay.Milliseconds()), slog.Any("error", err))
		if !sleep(ctx, delay) {
			return
		}
		delay = min(2*delay, in.opts.RetryMax)
	}
}

// runOnce ensures the consumer and consumes until an error or a reconnect;
// progressed says whether any batch was stored.
func (in *Ingestor) runOnce(ctx context.Context, reconnects *reconnectWatch) (progressed bool, err error) {
	// Begun before Ensure, so a reconnect while ensuring restarts too.
	waitCtx, end := reconnects.begin(ctx)
	defer end()
	ensureCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	cons, err := Ensure(ensureCtx, in.js, in.opts)
	cancel()
	if err != nil {
		return false, err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(in.opts.Batch))
	if err != nil {
		return false, err
	}
	defer in.release(it)
	for {
		batch, nextErr := in.next(waitCtx, it)
		if len(batch) > 0 {
			if err := in.store(ctx, batch); err != nil {
				return progressed, err
			}
			progressed = true
		}
		if cause := context.Cause(waitCtx); errors.Is(cause, errReconnected) {
			return progressed, cause
		}
		if nextErr != nil {
			return progressed, nextErr
		}
	}
}

// next blocks for one message, then takes whatever else is already buffered,
// up to the batch size.
func (in *Ingestor) next(ctx context.Context, it jetstream.MessagesContext) ([]jetstream.Msg, error) {
	m, err := it.Next(jetstream.NextContext(ctx))
	if err != nil {
		return nil, err
	}
	batch := []jetstream.Msg{m}
	for len(batch) < in.opts.Batch {
		m, err := it.Next(jetstream.NextMaxWait(gatherWait))
		if errors.Is(err, nats.ErrTimeout) {
			break
		}
		if err != nil {
			return batch, err
		}
		batch = append(batch, m)
	}
	return batch, nil
}

// store commits the batch's rows, then acknowledges each message. When the
// rows cannot be stored every message is handed back for redelivery.
func (in *Ingestor) store(ctx context.Context, batch []jetstream.Msg) error {
	rows := make([]models.DLQMessage, 0, len(batch))
	keep := batch[:0:0]
	seen := make(map[int64]bool, len(batch))
	for _, m := range batch {
		row, err := toRow(m, in.opts.SubjectPrefix)
		if err != nil {
			// Not a JetStream delivery: it can never be stored, so stop redelivering it.
			in.log.Error("dlq ingest: dropping a message without JetStream metadata",
				slog.String("subject", m.Subject()), slog.Any("error", err))
			_ = m.Term()
			continue
		}
		keep = append(keep, m)
		if !seen[row.StreamSeq] {
			seen[row.StreamSeq] = true
			rows = append(rows, row)
		}
	}
	storeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	res, err := insertRows(storeCtx, in.db, rows)
	if err != nil {
		for _, m := range keep {
			_ = m.NakWithDelay(in.opts.RetryMin)
		}
		return err
	}
	in.metrics.addIngested(res.inserted)
	for _, m := range keep {
		if seq := streamSeq(m); res.reused[seq] {
			// Acking would lose it silently; terminated, it stays in the
			// stream (until DLQ_MAX_AGE) for an operator to recover.
			in.log.Error("dlq ingest: stream sequence already stored for another message; the DLQ stream was recreated, this message is NOT stored",
				slog.String("stream", in.opts.Stream), slog.Int64("stream_seq", seq), slog.String("subject", m.Subject()))
			_ = m.Term()
			continue
		}
		// A lost ack only means a redelivery, which the unique stream
		// sequence turns into a no-op.
		_ = m.Ack()
	}
	return nil
}

func streamSeq(m jetstream.Msg) int64 {
	meta, err := m.Metadata()
	if err != nil {
		return 0
	}
	return int64(meta.Sequence.Stream) // #nosec G115 -- JetStream sequences stay far below 2^63
}

// release stops the iterator and hands back the messages it had buffered, so
// another replica (or the next start) gets them now rather than after AckWait.
func (in *Ingestor) release(it jetstream.MessagesContext) {
	it.Drain()
	for range 2 * in.opts.Batch {
		m, err := it.Next(jetstream.NextMaxWait(gatherWait))
		if err != nil {
			return
		}
		_ = m.Nak()
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
