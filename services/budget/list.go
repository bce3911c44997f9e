package budget

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
)

// Page sizes of List.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// ListFilter selects reservations; empty fields do not filter.
type ListFilter struct {
	TenantID  string
	ProjectID string
	Status    Status
	// Cursor is the NextCursor of the previous page ("" for the first).
	Cursor string
	// Limit is the page size: 0 means DefaultPageSize, more than
	// MaxPageSize means MaxPageSize.
	Limit int
}

// Page is one page of reservations, newest first.
type Page struct {
	Items []models.BudgetReservation
	// NextCursor continues after the last item; "" when there is no more.
	NextCursor string
}

// List returns reservations newest first with keyset paging, so every
// reservation appears once even while new ones arrive.
func (s *Service) List(ctx context.Context, f ListFilter) (Page, error) {
	var fe fieldErrors
	if f.TenantID != "" {
		fe.id("tenant_id", f.TenantID)
	}
	if f.ProjectID != "" {
		fe.id("project_id", f.ProjectID)
	}
	switch f.Status {
	case "", StatusPending, StatusCommitted, StatusReleased, StatusExpired:
	default:
		fe.add("status", "must be one of: pending, committed, released, expired")
	}
	if err := fe.err(); err != nil {
		return Page{}, err
	}
	after, err := cursor.Decode(f.Cursor)
	if err != nil {
		return Page{}, err
	}
	if after != nil {
		// The id half must be a reservation id (PostgreSQL compares it as a uuid).
		if _, err := uuid.Parse(after.ID); err != nil {
			return Page{}, errs.Validation(errs.FieldError{Field: "cursor", Message: "is not a cursor returned by this API"})
		}
	}
	limit := cursor.Limit(f.Limit, DefaultPageSize, MaxPageSize)

	q := s.db.WithContext(ctx).Model(&models.BudgetReservation{})
	if f.TenantID != "" {
		q = q.Where("tenant_id = ?", f.TenantID)
	}
	if f.ProjectID != "" {
		q = q.Where("project_id = ?", f.ProjectID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	if after != nil {
		at := after.At.UTC()
		q = q.Where("created_at < ? OR (created_at = ? AND id < ?)", at, at, after.ID)
	}
	var rows []models.BudgetReservation
	if err := q.Order("created_at DESC").Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return Page{}, fmt.Errorf("budget: list reservations: %w", err)
	}
	page := Page{Items: rows}
	if len(rows) > limit {
		page.Items = rows[:limit]
		last := page.Items[limit-1]
		page.NextCursor = cursor.Encode(last.CreatedAt, last.ID)
	}
	return page, nil
}
