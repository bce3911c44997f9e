package dlq

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
)

// previewBytes is read from the database for a listing: enough bytes for
// PreviewChars characters of valid UTF-8 (at most 4 bytes each).
const previewBytes = 4 * PreviewChars

// PreviewChars is the length of a listing's data preview.
const PreviewChars = 200

// Filter selects messages for List. The zero value lists unresolved messages
// of every subject, newest first.
type Filter struct {
	Resolved bool
	// Subject is an original subject, or a prefix ending in ">" such as
	// "orders.>" (any subject below orders).
	Subject string
	// Since (inclusive) and Until (exclusive) bound created_at when set.
	Since, Until time.Time
	// Limit is the page size (cursor.DefaultLimit when 0, at most
	// cursor.MaxLimit).
	Limit int
	// Cursor is the next_cursor of the previous page ("" for the first).
	Cursor string
}

// List returns one page, newest first; a listed message's Data holds at most
// the bytes of the preview. Keyset paging on (created_at, id) returns every
// row once even while new messages arrive.
func (s *Service) List(ctx context.Context, f Filter) (cursor.Page[Message], error) {
	keys, err := cursor.Parse(f.Cursor, f.Limit, func(id string) (any, bool) { return parseID(id) })
	if err != nil {
		return cursor.Page[Message]{}, err
	}
	q := s.db.WithContext(ctx).Model(&models.DLQMessage{}).
		Select(fmt.Sprintf("id, original_subject, substr(data, 1, %d) AS data, error, error_count, created_at, resolved", previewBytes)).
		Where("resolved = ?", f.Resolved)
	q, err = cursor.Between(q, f.Since, f.Until)
	if err != nil {
		return cursor.Page[Message]{}, err
	}
	exact, prefix, err := parseSubjectFilter(f.Subject)
	if err != nil {
		return cursor.Page[Message]{}, err
	}
	switch {
	case exact != "":
		q = q.Where("original_subject = ?", exact)
	case prefix != "":
		q = q.Where("substr(original_subject, 1, ?) = ?", utf8.RuneCountInString(prefix), prefix)
	}
	var rows []models.DLQMessage
	if err := keys.Apply(q).Find(&rows).Error; err != nil {
		return cursor.Page[Message]{}, fmt.Errorf("list DLQ messages: %w", err)
	}
	return cursor.Cut(keys, rows, func(r models.DLQMessage) (time.Time, string) { return r.CreatedAt, r.ID }, messageOf), nil
}

// parseSubjectFilter splits a subject filter into an exact subject or a
// prefix ("orders.>" gives "orders."; ">" alone gives no filter at all).
func parseSubjectFilter(s string) (exact, prefix string, err error) {
	if s == "" || s == ">" {
		return "", "", nil
	}
	bad := errs.Validation(errs.FieldError{Field: "subject",
		Message: `must be a subject such as "orders.created" or a prefix such as "orders.>"`})
	body := s
	if strings.HasSuffix(s, ".>") {
		body = strings.TrimSuffix(s, ".>")
	}
	if body == "" || strings.ContainsAny(body, "*> \t\r\n") {
		return "", "", bad
	}
	for _, tok := range strings.Split(body, ".") {
		if tok == "" {
			return "", "", bad
		}
	}
	if body != s {
		return "", body + ".", nil
	}
	return s, "", nil
}
