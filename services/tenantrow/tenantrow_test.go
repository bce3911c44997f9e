package tenantrow_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/golden-architecture/control-plane/internal/dbtest"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/tenantrow"
)

func TestValidUUID(t *testing.T) {
	for _, tt := range []struct {
		id   string
		want bool
	}{
		{"0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11", true},
		{"0B9E3F8E-4C1A-4F43-9D39-4F8D8E0F3A11", true},
		{"", false},
		{"task-1", false},
		{"0b9e3f8e4c1a4f439d394f8d8e0f3a11", false},       // no dashes: uuid.Parse takes it, the column's text would differ
		{"{0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11}", false}, // braces
		{"urn:uuid:0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11", false},
		{"0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a1z", false},
	} {
		if got := tenantrow.ValidUUID(tt.id); got != tt.want {
			t.Errorf("ValidUUID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

// errNotFound is the caller's not-found error, carrying the id it was given.
type errNotFound struct{ id string }

func (e errNotFound) Error() string { return "not found: " + e.id }

func notFound(id string) error { return errNotFound{id} }

func TestFind(t *testing.T) {
	db := dbtest.New(t).DB
	now := time.Now().UTC().Truncate(time.Second)
	for _, id := range []string{"acme", "other"} {
		if err := db.Create(&models.Tenant{ID: id, Name: id, CreatedAt: now, UpdatedAt: now}).Error; err != nil {
			t.Fatal(err)
		}
	}
	task := func(tenant string, deleted bool) string {
		row := models.Task{ID: uuid.NewString(), TenantID: tenant, Title: "t", State: "pending", Metadata: models.JSONMap{},
			Version: 1, CreatedBy: "user:u", CreatedAt: now, UpdatedAt: now}
		if deleted {
			row.DeletedAt = &now
		}
		if err := db.Create(&row).Error; err != nil {
			t.Fatal(err)
		}
		return row.ID
	}
	live, deleted := task("acme", false), task("acme", true)
	tests := []struct {
		name       string
		tenant, id string
		onlyLive   bool
		found      bool
	}{
		{"in its tenant", "acme", live, false, true},
		{"by a platform principal (no tenant)", "", live, false, true},
		{"of another tenant", "other", live, false, false},
		{"unknown", "acme", uuid.NewString(), false, false},
		{"not a uuid", "acme", "task-1", false, false},
		{"not a uuid, platform", "", "'; DROP TABLE tasks; --", false, false},
		{"deleted, found without the caller's condition", "acme", deleted, false, true},
		{"deleted, hidden by the caller's condition", "acme", deleted, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := db
			if tt.onlyLive {
				q = q.Where("deleted_at IS NULL")
			}
			row, err := tenantrow.Find[models.Task](q, tt.tenant, tt.id, notFound)
			if tt.found {
				if err != nil || row.ID != tt.id || row.TenantID != "acme" {
					t.Fatalf("got %+v, %v; want task %s of acme", row, err, tt.id)
				}
				return
			}
			var nf errNotFound
			if !errors.As(err, &nf) || nf.id != tt.id || row.ID != "" {
				t.Fatalf("got %+v, %v; want notFound(%q) and no row", row, err, tt.id)
			}
		})
	}

	// A failing query is an error of its own, naming the table and the id,
	// never a not-found.
	_, err := tenantrow.Find[models.Task](db.Where("no_such_column = 1"), "acme", live, notFound)
	var nf errNotFound
	if err == nil || errors.As(err, &nf) || !strings.Contains(err.Error(), "read tasks "+live) {
		t.Fatalf("err = %v, want a read error naming tasks and %s", err, live)
	}
}
