// Package tenantrow reads one row of a tenant-scoped table by its uuid id, the
// lookup every tenant-scoped resource with uuid ids (tasks, escalations,
// reviews, prompt proposals) answers "not found" from: an id that is no
// uuid, a row of another tenant and a missing row all look the same, so
// existence never leaks across tenants (DESIGN §7).
package tenantrow

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// ValidUUID reports whether id is a uuid in its canonical 36-character form.
// PostgreSQL compares uuid columns as uuids, so anything else must not reach
// a query: it would be an error there, not a missing row.
func ValidUUID(id string) bool {
	_, err := uuid.Parse(id)
	return err == nil && len(id) == 36
}

// Find reads the row T whose id is id and, unless tenant is "" (a platform
// principal, who reaches every tenant), whose tenant_id is tenant. An id that
// is no uuid and a row that is missing or of another tenant are notFound(id).
// db carries the caller's other conditions and clauses (a transaction, a
// row lock, "deleted_at IS NULL").
func Find[T any](db *gorm.DB, tenant, id string, notFound func(id string) error) (T, error) {
	var row T
	if !ValidUUID(id) {
		return row, notFound(id)
	}
	q := db.Where("id = ?", id)
	if tenant != "" {
		q = q.Where("tenant_id = ?", tenant)
	}
	res := q.Take(&row)
	if errors.Is(res.Error, gorm.ErrRecordNotFound) {
		return row, notFound(id)
	}
	if res.Error != nil {
		return row, fmt.Errorf("read %s %s: %w", res.Statement.Table, id, res.Error)
	}
	return row, nil
}
