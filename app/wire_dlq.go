package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/dlq"
)

// dlqGaugeRefresh is how often dlq_unresolved is re-read from the database,
// where other replicas resolve and ingest too.
const dlqGaugeRefresh = 15 * time.Second

// dlqOptions are the DLQ_* settings.
func (a *App) dlqOptions() dlq.Options {
	return dlq.Options{
		Stream:        a.cfg.DLQStream,
		SubjectPrefix: a.cfg.DLQSubjectPrefix,
		MaxAge:        a.cfg.DLQMaxAge,
		Consumer:      a.cfg.DLQConsumer,
	}
}

// wireDLQ creates the DLQ stream and consumer, starts the ingest worker and
// the gauge refresher, and serves /api/v1/dlq. A JetStream server that
// rejects the stream (say, another stream already captures its subjects)
// stops the start with that reason; an unreachable one is retried in the
// background by the worker.
func (a *App) wireDLQ(ctx context.Context, deps *handlers.Deps) error {
	opts := a.dlqOptions()
	ensureCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err := dlq.Ensure(ensureCtx, a.bus.JS, opts)
	cancel()
	switch {
	case err != nil && dlq.Rejected(err):
		return fmt.Errorf("DLQ (DLQ_STREAM, DLQ_SUBJECT_PREFIX): %w", err)
	case err != nil:
		a.log.Warn("DLQ stream not ready at start; the ingest worker keeps trying", slog.Any("error", err))
	}
	metrics, err := dlq.NewMetrics(a.registry)
	if err != nil {
		return fmt.Errorf("DLQ metrics: %w", err)
	}
	publisher := &dlq.NATSPublisher{Conn: a.bus.Conn, JS: a.bus.JS}
	svc := dlq.New(a.db.DB, audit.New(a.db.DB), a.guardPublisher(publisher), metrics, opts)
	ingestor := dlq.NewIngestor(a.bus.JS, a.db.DB, metrics, a.log, opts)
	a.workers = append(a.workers,
		ingestor.Run,
		func(ctx context.Context) { svc.RefreshGauge(ctx, dlqGaugeRefresh, a.log) },
	)
	deps.Resources = append(deps.Resources, &handlers.DLQ{Service: svc})
	return nil
}
