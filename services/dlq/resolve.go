package dlq

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
)

// MaxNoteChars bounds a resolution note.
const MaxNoteChars = 2000

// AuditAction is the audit trail's name of a resolve.
const AuditAction = "dlq.resolve"

// Resolution asks to resolve one message.
type Resolution struct {
	Note string
	// Requeue republishes the payload and headers to the original subject
	// before the message is marked resolved.
	Requeue bool
}

// Resolved is the outcome of a resolve.
type Resolved struct {
	MessageID string
	Requeued  bool
}

// Resolve marks a message resolved, requeueing it first when asked. The
// message is marked only after the publish succeeded, in the transaction of
// its audit entry, by a conditional update: of two concurrent resolves (on any
// replicas) one succeeds and the other gets a 409. A failed publish is a 503
// and leaves the message unresolved.
func (s *Service) Resolve(ctx context.Context, actor audit.Actor, id string, r Resolution) (Resolved, error) {
	note := strings.TrimSpace(r.Note)
	if note == "" || utf8.RuneCountInString(note) > MaxNoteChars {
		return Resolved{}, errs.Validation(errs.FieldError{Field: "note",
			Message: fmt.Sprintf("must be 1 to %d characters", MaxNoteChars)})
	}
	row, err := s.load(ctx, s.db, id)
	if err != nil {
		return Resolved{}, err
	}
	if row.Resolved {
		return Resolved{}, alreadyResolved()
	}
	if !r.Requeue {
		err := s.mark(ctx, actor, row, note, false, "")
		return Resolved{MessageID: row.ID}, err
	}
	if s.opts.underPrefix(row.OriginalSubject) {
		return Resolved{}, errs.Newf(errs.CodeConflict,
			"the original subject %q is under the DLQ prefix %q; requeueing it would dead-letter it again",
			row.OriginalSubject, s.opts.SubjectPrefix+".>")
	}
	token, err := s.claim(ctx, row.ID)
	if err != nil {
		return Resolved{}, err
	}
	if err := s.publish(ctx, row); err != nil {
		s.unclaim(ctx, row.ID, token)
		return Resolved{}, err
	}
	// The message is out: record it even if the caller has gone away.
	markCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.mark(markCtx, actor, row, note, true, token); err != nil {
		return Resolved{}, err
	}
	return Resolved{MessageID: row.ID, Requeued: true}, nil
}

// claim reserves an unresolved message for this resolve while it publishes.
func (s *Service) claim(ctx context.Context, id string) (string, error) {
	token := uuid.NewString()
	now := cursor.DBTime(s.now())
	res := s.db.WithContext(ctx).Model(&models.DLQMessage{}).
		Where("id = ? AND NOT resolved AND (claim_token IS NULL OR claim_expires_at < ?)", id, now).
		Updates(map[string]any{"claim_token": token, "claim_expires_at": now.Add(s.claimTTL)})
	if res.Error != nil {
		return "", fmt.Errorf("claim DLQ message %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return "", s.whyNot(ctx, s.db, id)
	}
	return token, nil
}

// unclaim frees a claim after a failed publish so the message can be retried.
func (s *Service) unclaim(ctx context.Context, id, token string) {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	// Best effort: an unreleased claim expires by itself after claimTTL.
	_ = s.db.WithContext(uctx).Model(&models.DLQMessage{}).
		Where("id = ? AND claim_token = ?", id, token).
		Updates(map[string]any{"claim_token": nil, "claim_expires_at": nil}).Error
}

// publish republishes the stored payload and headers to the original subject.
// The dedup id changes with each requeue of the message, so a retry of the
// same requeue is dropped by a stream while a later requeue is not.
func (s *Service) publish(ctx context.Context, row models.DLQMessage) error {
	pctx, cancel := context.WithTimeout(ctx, s.claimTTL/2)
	defer cancel()
	msg := &nats.Msg{
		Subject: row.OriginalSubject,
		Data:    row.Data,
		Header:  requeueHeaders(headersFromJSON(row.Headers)),
	}
	dedupID := fmt.Sprintf("dlq-requeue:%s:%d", row.ID, row.RequeueCount+1)
	if err := s.publisher.Publish(pctx, msg, dedupID); err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			return e
		}
		return errs.Wrap(errs.CodeUnavailable, "the message could not be republished; it stays unresolved, try again later", err)
	}
	return nil
}

// mark sets the message resolved (and requeued) with its audit entry in one
// transaction. With a claim token only the claim holder may mark it.
func (s *Service) mark(ctx context.Context, actor audit.Actor, row models.DLQMessage, note string, requeued bool, token string) error {
	now := cursor.DBTime(s.now())
	by := actor.Name()
	set := map[string]any{
		"resolved": true, "resolved_at": now, "resolved_by": by, "resolution_notes": note,
		"claim_token": nil, "claim_expires_at": nil,
	}
	if requeued {
		set["requeued_at"] = now
		set["requeue_count"] = gorm.Expr("requeue_count + 1")
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Model(&models.DLQMessage{}).Where("id = ? AND NOT resolved", row.ID)
		if token != "" {
			q = q.Where("claim_token = ?", token)
		} else {
			q = q.Where("(claim_token IS NULL OR claim_expires_at < ?)", now)
		}
		res := q.Updates(set)
		if res.Error != nil {
			return fmt.Errorf("resolve DLQ message %s: %w", row.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			if token != "" {
				// Our claim expired and another resolve took over after we
				// had published: that one decides.
				return errs.New(errs.CodeConflict, "the message was republished, but another resolve took it over before it could be marked")
			}
			return s.whyNot(ctx, tx, row.ID)
		}
		return s.audit.Record(ctx, tx, actor, audit.Entry{
			Action: AuditAction, ResourceType: "dlq_message", ResourceID: row.ID,
			Details: map[string]any{
				"note": note, "requeue": requeued, "original_subject": row.OriginalSubject,
				"stream_seq": row.StreamSeq,
			},
		})
	})
	if err != nil {
		return err
	}
	s.metrics.addResolved(requeued)
	return nil
}

// whyNot explains why a conditional update of an unresolved message matched
// nothing: it was resolved meanwhile, or another resolve holds it.
func (s *Service) whyNot(ctx context.Context, db *gorm.DB, id string) error {
	row, err := s.load(ctx, db, id)
	if err != nil {
		return err
	}
	if row.Resolved {
		return alreadyResolved()
	}
	return errs.New(errs.CodeConflict, "another request is resolving this message right now; try again shortly")
}

func alreadyResolved() error {
	return errs.New(errs.CodeDLQResolved, "the DLQ message is already resolved")
}
