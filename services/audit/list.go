package audit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
)

// Page sizes of List.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Filter selects audit entries. Empty fields do not filter; Since is
// inclusive and Until exclusive.
type Filter struct {
	UserID       string
	Action       string
	ResourceType string
	ResourceID   string
	Since        time.Time
	Until        time.Time
	// Cursor is the next_cursor of the previous page ("" for the first).
	Cursor string
	// Limit is the page size (default 50, at most 200).
	Limit int
}

// Page is one page of entries, newest first. NextCursor is "" on the last page.
type Page struct {
	Items      []models.AuditEntry
	NextCursor string
}

// List returns entries matching f, newest first, paged by a (created_at, id)
// keyset cursor so entries written meanwhile never shift a page.
func (s *Service) List(ctx context.Context, f Filter) (Page, error) {
	after, err := cursor.Decode(f.Cursor)
	if err != nil {
		return Page{}, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return Page{}, errs.Validation(errs.FieldError{Field: "until", Message: "must be after since"})
	}
	limit := cursor.Limit(f.Limit, DefaultLimit, MaxLimit)
	q := s.db.WithContext(ctx).Model(&models.AuditEntry{})
	for col, v := range map[string]string{
		"user_id": f.UserID, "action": f.Action, "resource_type": f.ResourceType, "resource_id": f.ResourceID,
	} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	if !f.Since.IsZero() {
		q = q.Where("created_at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("created_at < ?", f.Until.UTC())
	}
	if after != nil {
		id, err := strconv.ParseInt(after.ID, 10, 64)
		if err != nil {
			return Page{}, errs.Validation(errs.FieldError{Field: "cursor", Message: "is not a cursor returned by this API"})
		}
		at := after.At.UTC()
		q = q.Where("created_at < ? OR (created_at = ? AND id < ?)", at, at, id)
	}
	var rows []models.AuditEntry
	if err := q.Order("created_at DESC").Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return Page{}, fmt.Errorf("list audit entries: %w", err)
	}
	page := Page{Items: rows}
	if len(rows) > limit {
		page.Items = rows[:limit]
		last := page.Items[limit-1]
		page.NextCursor = cursor.Encode(last.CreatedAt, strconv.FormatInt(last.ID, 10))
	}
	return page, nil
}
