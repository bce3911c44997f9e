package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/internal/dbtest"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
)

// TestListPagesThroughEqualTimestamps: rows sharing created_at are ordered
// by id and each appears exactly once across pages.
func TestListPagesThroughEqualTimestamps(t *testing.T) {
	db := dbtest.New(t).DB
	at := time.Date(2026, 1, 2, 15, 4, 5, 123456000, time.UTC)
	var want []int64
	for i := range 7 {
		row := models.AuditEntry{Action: "test.same", CreatedAt: at, Details: models.JSONMap{}}
		if i >= 5 {
			row.CreatedAt = at.Add(-time.Duration(i) * time.Microsecond)
		}
		if err := db.Create(&row).Error; err != nil {
			t.Fatal(err)
		}
		want = append(want, row.ID)
	}
	// Newest first: the five equal ones by id descending, then the older two.
	want = []int64{want[4], want[3], want[2], want[1], want[0], want[5], want[6]}
	svc := audit.New(db)
	for _, limit := range []int{1, 2, 3, 7, 50} {
		var got []int64
		f := audit.Filter{Action: "test.same", Limit: limit}
		for pages := 0; ; pages++ {
			p, err := svc.List(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Items {
				got = append(got, e.ID)
			}
			if p.NextCursor == "" {
				break
			}
			if pages > 10 {
				t.Fatal("paging does not end")
			}
			f.Cursor = p.NextCursor
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("limit %d: ids (-want +got):\n%s", limit, diff)
		}
	}
	if _, err := svc.List(context.Background(), audit.Filter{Cursor: "eyJ0IjoiMjAyNi0wMS0wMlQxNTowNDowNVoiLCJpZCI6Im5vdC1hLW51bWJlciJ9"}); !errs.Is(err, errs.CodeUnprocessable) {
		t.Errorf("cursor with a non-numeric id: %v, want 422", err)
	}
}

// TestListCapsThePageSize: a page never holds more than MaxLimit entries,
// whatever the client asks for; the rest follow through the cursor.
func TestListCapsThePageSize(t *testing.T) {
	db := dbtest.New(t).DB
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	rows := make([]models.AuditEntry, cursor.MaxLimit+1)
	for i := range rows {
		rows[i] = models.AuditEntry{Action: "test.cap", CreatedAt: at.Add(time.Duration(i) * time.Millisecond), Details: models.JSONMap{}}
	}
	if err := db.CreateInBatches(rows, 100).Error; err != nil {
		t.Fatal(err)
	}
	svc := audit.New(db)
	first, err := svc.List(context.Background(), audit.Filter{Action: "test.cap", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Items) != cursor.MaxLimit || first.NextCursor == "" {
		t.Fatalf("limit 1000: %d items, next cursor %q; want %d and a cursor", len(first.Items), first.NextCursor, cursor.MaxLimit)
	}
	rest, err := svc.List(context.Background(), audit.Filter{Action: "test.cap", Limit: 1000, Cursor: first.NextCursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.Items) != 1 || rest.Items[0].ID != rows[0].ID || rest.NextCursor != "" {
		t.Errorf("second page = %d items (first id %v), next %q; want only the oldest, id %d", len(rest.Items), rest.Items, rest.NextCursor, rows[0].ID)
	}
}
