package budget

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/cursor"
)

// ListFilter selects reservations; empty fields do not filter.
type ListFilter struct {
	TenantID  string
	ProjectID string
	Status    Status
	// Cursor is the NextCursor of the previous page ("" for the first).
	Cursor string
	// Limit is the page size (cursor.DefaultLimit when 0, at most
	// cursor.MaxLimit).
	Limit int
}

// Reservation is one reservation as List returns it.
type Reservation struct {
	ID        string
	TenantID  string
	ProjectID string
	TaskID    string
	Model     string
	Purpose   string
	Tokens    int64
	// ActualTokens is set once the reservation is committed.
	ActualTokens *int64
	Status       Status
	// IdempotencyKey is nil for a request sent without a key; otherwise the
	// key as its sender sent it.
	IdempotencyKey *string
	CreatedBy      string
	CreatedAt      time.Time
	ExpiresAt      time.Time
	// SettledAt is set once the reservation left pending.
	SettledAt *time.Time
	// PrincipalID is who reserved ("user:<id>"); "" on reservations made
	// before principals were recorded.
	PrincipalID string
}

// List returns reservations newest first with keyset paging, so every
// reservation appears once even while new ones arrive.
func (s *Service) List(ctx context.Context, f ListFilter) (cursor.Page[Reservation], error) {
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
		return cursor.Page[Reservation]{}, err
	}
	// The id half of a cursor must be a reservation id (PostgreSQL compares it as a uuid).
	keys, err := cursor.Parse(f.Cursor, f.Limit, func(id string) (any, bool) {
		u, err := uuid.Parse(id)
		return u.String(), err == nil
	})
	if err != nil {
		return cursor.Page[Reservation]{}, err
	}
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
	var rows []models.BudgetReservation
	if err := keys.Apply(q).Find(&rows).Error; err != nil {
		return cursor.Page[Reservation]{}, fmt.Errorf("budget: list reservations: %w", err)
	}
	return cursor.Cut(keys, rows, func(r models.BudgetReservation) (time.Time, string) { return r.CreatedAt, r.ID }, reservationOf), nil
}

func reservationOf(r models.BudgetReservation) Reservation {
	out := Reservation{
		ID: r.ID, TenantID: r.TenantID, ProjectID: r.ProjectID, TaskID: r.TaskID, Model: r.Model, Purpose: r.Purpose,
		Tokens: r.Tokens, ActualTokens: r.ActualTokens, Status: Status(r.Status), IdempotencyKey: r.IdempotencyKey,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), SettledAt: utc(r.SettledAt),
	}
	if r.PrincipalID != nil {
		out.PrincipalID = *r.PrincipalID
		if r.IdempotencyKey != nil {
			key := strings.TrimPrefix(*r.IdempotencyKey, scopedKey(*r.PrincipalID, ""))
			out.IdempotencyKey = &key
		}
	}
	return out
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
