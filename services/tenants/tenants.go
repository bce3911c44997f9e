// Package tenants keeps the tenants of DESIGN §7 — the teams or customers
// whose users, budgets and (later) keys, tasks and agents belong together —
// and decides which tenant a request may act in (access.go), for every
// tenant-scoped resource.
package tenants

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
)

// The audit actions of tenants.
const (
	ActionCreate = "tenant.create"
	ActionUpdate = "tenant.update"
)

// resourceTenant is the audit resource type of a tenant.
const resourceTenant = "tenant"

// Bounds of a tenant. They are part of the API contract (the handlers'
// binding tags and swag annotations repeat them).
const (
	MaxIDLength   = 64
	MaxNameLength = 200
)

// IDRule is the tenant id rule in words, for messages and documentation.
const IDRule = "a slug: 1 to 64 lowercase letters, digits, '-' and '_', starting with a letter or digit"

// idPattern is IDRule. A slug is safe in URLs, log lines, metric labels, key
// prefixes and NATS subjects, which the tenant-scoped resources use.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// ValidID reports whether id follows IDRule.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Tenant is a tenant as the service shows it.
type Tenant struct {
	ID        string
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func tenantOf(r models.Tenant) Tenant {
	return Tenant{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// Auditor writes audit entries inside the action's transaction
// (audit.Service implements it).
type Auditor interface {
	RecordAll(ctx context.Context, tx *gorm.DB, items []audit.Item) error
}

var _ Auditor = (*audit.Service)(nil)

// Service stores tenants and answers which tenant a request acts in.
type Service struct {
	db    *gorm.DB
	audit Auditor
	now   func() time.Time
}

// New returns the tenant service on db, auditing through auditor.
func New(db *gorm.DB, auditor Auditor) *Service {
	// Microseconds: what PostgreSQL keeps, so a cursor made from a returned
	// tenant compares equal to the stored row on both databases.
	return &Service{db: db, audit: auditor, now: cursor.DBClock(nil)}
}

// CreateInput is a new tenant.
type CreateInput struct {
	ID string
	// Name is shown to people; the id when empty.
	Name string
}

// Create adds a tenant. The id must follow IDRule; a taken id is a 409
// state.conflict.
func (s *Service) Create(ctx context.Context, actor audit.Actor, in CreateInput) (Tenant, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = in.ID
	}
	var f []errs.FieldError
	if !ValidID(in.ID) {
		f = append(f, errs.FieldError{Field: "id", Message: "must be " + IDRule})
	}
	f = append(f, checkName(name)...)
	if len(f) > 0 {
		return Tenant{}, errs.Validation(f...)
	}
	now := s.now()
	row := models.Tenant{ID: in.ID, Name: name, CreatedAt: now, UpdatedAt: now}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionCreate, ResourceType: resourceTenant, ResourceID: row.ID,
			Details: map[string]any{"name": row.Name},
		}}})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return Tenant{}, errs.Newf(errs.CodeConflict, "tenant %q already exists", in.ID)
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("tenants: create: %w", err)
	}
	return tenantOf(row), nil
}

// Get returns one tenant; an unknown id is resource.not_found.
func (s *Service) Get(ctx context.Context, id string) (Tenant, error) {
	row, err := s.find(s.db.WithContext(ctx), id)
	if err != nil {
		return Tenant{}, err
	}
	return tenantOf(row), nil
}

func (s *Service) find(db *gorm.DB, id string) (models.Tenant, error) {
	var row models.Tenant
	err := db.Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, notFound(id)
	}
	if err != nil {
		return row, fmt.Errorf("tenants: read %s: %w", id, err)
	}
	return row, nil
}

// UpdateInput changes a tenant; nil fields stay as they are.
type UpdateInput struct {
	Name *string
}

// Update changes a tenant and audits the change with the old and new values.
// Changing nothing answers the tenant as it is and writes nothing.
func (s *Service) Update(ctx context.Context, actor audit.Actor, id string, in UpdateInput) (Tenant, error) {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if f := checkName(name); len(f) > 0 {
			return Tenant{}, errs.Validation(f...)
		}
		in.Name = &name
	}
	var out models.Tenant
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, err := s.find(tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}), id)
		if err != nil {
			return err
		}
		out = row
		if in.Name == nil || *in.Name == row.Name {
			return nil
		}
		out.Name, out.UpdatedAt = *in.Name, s.now()
		if err := tx.Model(&models.Tenant{}).Where("id = ?", id).
			Updates(map[string]any{"name": out.Name, "updated_at": out.UpdatedAt}).Error; err != nil {
			return fmt.Errorf("tenants: update %s: %w", id, err)
		}
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionUpdate, ResourceType: resourceTenant, ResourceID: id,
			Details: map[string]any{"name": out.Name, "old_name": row.Name},
		}}})
	})
	if err != nil {
		return Tenant{}, err
	}
	return tenantOf(out), nil
}

// ListFilter pages through tenants.
type ListFilter struct {
	// Cursor is the NextCursor of the previous page ("" for the first).
	Cursor string
	// Limit is the page size (cursor.DefaultLimit when 0, at most cursor.MaxLimit).
	Limit int
}

// List returns tenants newest first with keyset paging.
func (s *Service) List(ctx context.Context, f ListFilter) (cursor.Page[Tenant], error) {
	keys, err := cursor.Parse(f.Cursor, f.Limit, func(id string) (any, bool) { return id, id != "" })
	if err != nil {
		return cursor.Page[Tenant]{}, err
	}
	var rows []models.Tenant
	if err := keys.Apply(s.db.WithContext(ctx).Model(&models.Tenant{})).Find(&rows).Error; err != nil {
		return cursor.Page[Tenant]{}, fmt.Errorf("tenants: list: %w", err)
	}
	return cursor.Cut(keys, rows, func(r models.Tenant) (time.Time, string) { return r.CreatedAt, r.ID }, tenantOf), nil
}

// Ensure creates tenant id inside tx, the transaction of the action that
// uses it first (a budget named by a platform principal), and audits the
// creation; an existing tenant is left alone. Concurrent first uses are not
// an error.
func (s *Service) Ensure(ctx context.Context, tx *gorm.DB, actor audit.Actor, id string) error {
	now := s.now()
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&models.Tenant{ID: id, Name: id, CreatedAt: now, UpdatedAt: now})
	if res.Error != nil {
		return fmt.Errorf("tenants: create %s on first use: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return nil
	}
	return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
		Action: ActionCreate, ResourceType: resourceTenant, ResourceID: id,
		Details: map[string]any{"name": id, "on_first_use": true},
	}}})
}

func checkName(name string) []errs.FieldError {
	switch {
	case name == "":
		return []errs.FieldError{{Field: "name", Message: "must not be blank"}}
	case len([]rune(name)) > MaxNameLength:
		return []errs.FieldError{{Field: "name", Message: fmt.Sprintf("must be at most %d characters", MaxNameLength)}}
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return []errs.FieldError{{Field: "name", Message: "must not contain control characters"}}
	}
	return nil
}

func notFound(id string) error {
	return errs.Newf(errs.CodeNotFound, "tenant %q not found", id)
}
