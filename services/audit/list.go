package audit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/cursor"
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
	// Limit is the page size (cursor.DefaultLimit when 0, at most
	// cursor.MaxLimit).
	Limit int
}

// Record is one stored audit entry.
type Record struct {
	ID           int64
	UserID       string
	PrincipalID  string
	TenantID     string
	Role         string
	Action       string
	ResourceType string
	ResourceID   string
	Details      map[string]any
	RequestID    string
	ClientIP     string
	CreatedAt    time.Time
}

// List returns entries matching f, newest first, paged by a (created_at, id)
// keyset cursor so entries written meanwhile never shift a page.
func (s *Service) List(ctx context.Context, f Filter) (cursor.Page[Record], error) {
	keys, err := cursor.Parse(f.Cursor, f.Limit, func(id string) (any, bool) {
		n, err := strconv.ParseInt(id, 10, 64)
		return n, err == nil
	})
	if err != nil {
		return cursor.Page[Record]{}, err
	}
	q, err := cursor.Between(s.db.WithContext(ctx).Model(&models.AuditEntry{}), f.Since, f.Until)
	if err != nil {
		return cursor.Page[Record]{}, err
	}
	for col, v := range map[string]string{
		"user_id": f.UserID, "action": f.Action, "resource_type": f.ResourceType, "resource_id": f.ResourceID,
	} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	var rows []models.AuditEntry
	if err := keys.Apply(q).Find(&rows).Error; err != nil {
		return cursor.Page[Record]{}, fmt.Errorf("list audit entries: %w", err)
	}
	return cursor.Cut(keys, rows, func(r models.AuditEntry) (time.Time, string) {
		return r.CreatedAt, strconv.FormatInt(r.ID, 10)
	}, recordOf), nil
}

func recordOf(e models.AuditEntry) Record {
	details := map[string]any(e.Details)
	if details == nil {
		details = map[string]any{}
	}
	return Record{
		ID: e.ID, UserID: e.UserID, PrincipalID: e.PrincipalID, TenantID: e.TenantID, Role: e.Role, Action: e.Action, ResourceType: e.ResourceType,
		ResourceID: e.ResourceID, Details: details, RequestID: e.RequestID, ClientIP: e.ClientIP,
		CreatedAt: e.CreatedAt.UTC(),
	}
}
