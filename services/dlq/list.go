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

// Page sizes of List.
const (
	DefaultLimit = 50
	MaxLimit     = 200
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
	Limit        int
	Cursor       string
}

// Page is one page of List. Data holds at most the bytes of the preview.
type Page struct {
	Items      []Message
	NextCursor string
}

// List returns one page, newest first. Keyset paging on (created_at, id)
// returns every row once even while new messages arrive.
func (s *Service) List(ctx context.Context, f Filter) (Page, error) {
	after, err := cursor.Decode(f.Cursor)
	if err != nil {
		return Page{}, err
	}
	if after != nil {
		if _, ok := parseID(after.ID); !ok {
			return Page{}, errs.Validation(errs.FieldError{Field: "cursor", Message: "is not a cursor returned by this API"})
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return Page{}, errs.Validation(errs.FieldError{Field: "until", Message: "must be after since"})
	}
	limit := cursor.Limit(f.Limit, DefaultLimit, MaxLimit)

	q := s.db.WithContext(ctx).Model(&models.DLQMessage{}).
		Select(fmt.Sprintf("id, original_subject, substr(data, 1, %d) AS data, error, error_count, created_at, resolved", previewBytes)).
		Where("resolved = ?", f.Resolved)
	exact, prefix, err := parseSubjectFilter(f.Subject)
	if err != nil {
		return Page{}, err
	}
	switch {
	case exact != "":
		q = q.Where("original_subject = ?", exact)
	case prefix != "":
		q = q.Where("substr(original_subject, 1, ?) = ?", utf8.RuneCountInString(prefix), prefix)
	}
	if !f.Since.IsZero() {
		q = q.Where("created_at >= ?", dbTime(f.Since))
	}
	if !f.Until.IsZero() {
		q = q.Where("created_at < ?", dbTime(f.Until))
	}
	if after != nil {
		at := dbTime(after.At)
		q = q.Where("(created_at < ? OR (created_at = ? AND id < ?))", at, at, after.ID)
	}
	var rows []models.DLQMessage
	if err := q.Order("created_at DESC").Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return Page{}, fmt.Errorf("list DLQ messages: %w", err)
	}
	page := Page{Items: make([]Message, 0, min(len(rows), limit))}
	for i, r := range rows {
		if i == limit {
			last := rows[limit-1]
			page.NextCursor = cursor.Encode(last.CreatedAt, last.ID)
			break
		}
		page.Items = append(page.Items, messageOf(r))
	}
	return page, nil
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
