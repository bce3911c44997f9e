package dlq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/errs"
)

// Auditor writes the audit entry of a resolve inside its transaction
// (audit.Service implements it).
type Auditor interface {
	Record(ctx context.Context, tx *gorm.DB, actor audit.Actor, e audit.Entry) error
}

var _ Auditor = (*audit.Service)(nil)

// Service lists, shows and resolves stored DLQ messages.
type Service struct {
	db        *gorm.DB
	audit     Auditor
	publisher Publisher
	metrics   *Metrics
	opts      Options
	now       func() time.Time
	// claimTTL is how long a resolve may hold a message while publishing;
	// the publish gets half of it so the claim outlives the publish.
	claimTTL time.Duration
}

// New returns the service; publisher carries requeues.
func New(db *gorm.DB, aud Auditor, publisher Publisher, m *Metrics, o Options) *Service {
	return &Service{
		db: db, audit: aud, publisher: publisher, metrics: m, opts: o.withDefaults(),
		now:      func() time.Time { return time.Now() },
		claimTTL: 30 * time.Second,
	}
}

// Message is a stored DLQ message as callers see it.
type Message struct {
	ID              string
	StreamSeq       int64
	OriginalSubject string
	Data            []byte
	Headers         map[string][]string
	Error           string
	Attempts        int
	CreatedAt       time.Time
	Resolved        bool
	ResolvedAt      *time.Time
	ResolvedBy      string
	ResolutionNotes string
	RequeuedAt      *time.Time
	RequeueCount    int
}

func messageOf(r models.DLQMessage) Message {
	return Message{
		ID:              r.ID,
		StreamSeq:       r.StreamSeq,
		OriginalSubject: r.OriginalSubject,
		Data:            r.Data,
		Headers:         headersFromJSON(r.Headers),
		Error:           r.Error,
		Attempts:        r.ErrorCount,
		CreatedAt:       r.CreatedAt.UTC(),
		Resolved:        r.Resolved,
		ResolvedAt:      utcPtr(r.ResolvedAt),
		ResolvedBy:      deref(r.ResolvedBy),
		ResolutionNotes: deref(r.ResolutionNotes),
		RequeuedAt:      utcPtr(r.RequeuedAt),
		RequeueCount:    r.RequeueCount,
	}
}

// Get returns one message in full; an unknown or malformed id is not found.
func (s *Service) Get(ctx context.Context, id string) (Message, error) {
	row, err := s.load(ctx, s.db, id)
	if err != nil {
		return Message{}, err
	}
	return messageOf(row), nil
}

// RefreshGauge keeps dlq_unresolved equal to the database count, which other
// replicas change too, until ctx ends.
func (s *Service) RefreshGauge(ctx context.Context, every time.Duration, log *slog.Logger) {
	for {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := countUnresolved(qctx, s.db)
		cancel()
		switch {
		case err == nil:
			s.metrics.setUnresolved(n)
		case ctx.Err() == nil:
			log.Warn("dlq_unresolved gauge not refreshed", slog.Any("error", err))
		}
		if !sleep(ctx, every) {
			return
		}
	}
}

func (s *Service) load(ctx context.Context, db *gorm.DB, id string) (models.DLQMessage, error) {
	key, ok := parseID(id)
	if !ok {
		return models.DLQMessage{}, notFound()
	}
	var row models.DLQMessage
	err := db.WithContext(ctx).Where("id = ?", key).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.DLQMessage{}, notFound()
	}
	if err != nil {
		return models.DLQMessage{}, fmt.Errorf("load DLQ message %s: %w", key, err)
	}
	return row, nil
}

// parseID accepts a UUID in any of its spellings and returns the stored one.
func parseID(id string) (string, bool) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

func notFound() error {
	return errs.New(errs.CodeNotFound, "DLQ message not found")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
