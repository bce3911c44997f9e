// Package audit records who did what. An entry is written in the same database
// transaction as the action it records, so an action without its entry (or an
// entry without its action) cannot exist.
package audit

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/cursor"
)

// Actor is the caller of an action, taken from the verified token and the
// request by the handler.
type Actor struct {
	// PrincipalID is the stable id of the caller, whatever its credential
	// ("user:<id>"); "" when anonymous.
	PrincipalID string
	UserID      string
	Username    string
	Role        string
	// TenantID is the tenant the caller acts in; "" for a platform
	// principal or an anonymous caller.
	TenantID  string
	RequestID string
	ClientIP  string
}

// Name is how the actor is recorded in ledgers ("username", or "anonymous").
func (a Actor) Name() string {
	if a.Username != "" {
		return a.Username
	}
	return "anonymous"
}

// Entry is one audited action.
type Entry struct {
	Action       string
	ResourceType string
	ResourceID   string
	Details      map[string]any
}

// Service writes and lists audit entries.
type Service struct {
	db  *gorm.DB
	now func() time.Time
}

// New returns an audit service on db.
func New(db *gorm.DB) *Service {
	// Microseconds: what PostgreSQL keeps, so a cursor built from a stored row
	// compares equal to that row on both databases.
	return &Service{db: db, now: cursor.DBClock(nil)}
}

// Record writes e by actor inside tx (the action's transaction). Pass the
// service's own handle through Write when there is no transaction.
func (s *Service) Record(ctx context.Context, tx *gorm.DB, actor Actor, e Entry) error {
	return s.RecordAll(ctx, tx, []Item{{Actor: actor, Entry: e}})
}

// Item is one entry of RecordAll with the actor who did it.
type Item struct {
	Actor Actor
	Entry Entry
}

// RecordAll writes the entries in one statement inside tx, the transaction
// of the actions they record.
func (s *Service) RecordAll(ctx context.Context, tx *gorm.DB, items []Item) error {
	now := s.now()
	rows := make([]models.AuditEntry, len(items))
	for i, it := range items {
		rows[i] = Row(it, now)
	}
	if err := tx.WithContext(ctx).Create(&rows).Error; err != nil {
		return fmt.Errorf("write audit entry %s: %w", items[0].Entry.Action, err)
	}
	return nil
}

// Row is the audit_log row of item recorded at at: what RecordAll inserts.
// A service that writes its entry inside one statement of its own (the
// budget's lone calls) inserts these columns, so both ways store the same.
func Row(item Item, at time.Time) models.AuditEntry {
	return models.AuditEntry{
		UserID:       item.Actor.UserID,
		Role:         item.Actor.Role,
		PrincipalID:  item.Actor.PrincipalID,
		TenantID:     item.Actor.TenantID,
		Action:       item.Entry.Action,
		ResourceType: item.Entry.ResourceType,
		ResourceID:   item.Entry.ResourceID,
		Details:      models.JSONMap(item.Entry.Details),
		RequestID:    item.Actor.RequestID,
		ClientIP:     item.Actor.ClientIP,
		CreatedAt:    cursor.DBTime(at),
	}
}

// Write records an action that has no transaction of its own (a failed login).
func (s *Service) Write(ctx context.Context, actor Actor, e Entry) error {
	return s.Record(ctx, s.db, actor, e)
}
