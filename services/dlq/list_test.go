package dlq_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/dlq"
	"github.com/golden-architecture/control-plane/services/errs"
)

var base = time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)

// insertRow stores a row as the ingest worker would, at base+offset.
func insertRow(t *testing.T, db *gorm.DB, seq int64, subject string, offset time.Duration, resolved bool) models.DLQMessage {
	t.Helper()
	row := models.DLQMessage{
		ID: uuid.NewString(), StreamSeq: seq, OriginalSubject: subject, Data: []byte("payload"),
		Headers: models.JSONMap{}, CreatedAt: base.Add(offset), Resolved: resolved,
	}
	if err := db.Create(&row).Error; err != nil {
		t.Fatal(err)
	}
	return row
}

func ids(msgs []dlq.Message) []string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}

func TestListFilters(t *testing.T) {
	f := newFixture(t)
	svc := f.service(nil)
	a := insertRow(t, f.db, 1, "orders.created", 1*time.Second, false)
	b := insertRow(t, f.db, 2, "orders.eu.paid", 2*time.Second, false)
	c := insertRow(t, f.db, 3, "ordersx.created", 3*time.Second, false)
	d := insertRow(t, f.db, 4, "users.created", 4*time.Second, true)
	e := insertRow(t, f.db, 5, "order_items.added", 5*time.Second, false)
	g := insertRow(t, f.db, 6, "orderXitems.added", 6*time.Second, false)
	tests := []struct {
		name   string
		filter dlq.Filter
		want   []string
	}{
		{"unresolved by default, newest first", dlq.Filter{}, []string{g.ID, e.ID, c.ID, b.ID, a.ID}},
		{"resolved", dlq.Filter{Resolved: true}, []string{d.ID}},
		{"exact subject", dlq.Filter{Subject: "orders.created"}, []string{a.ID}},
		{"prefix", dlq.Filter{Subject: "orders.>"}, []string{b.ID, a.ID}},
		{"prefix with an underscore is literal", dlq.Filter{Subject: "order_items.>"}, []string{e.ID}},
		{"subject is case-sensitive", dlq.Filter{Subject: "ORDERS.created"}, []string{}},
		{"everything", dlq.Filter{Subject: ">"}, []string{g.ID, e.ID, c.ID, b.ID, a.ID}},
		{"since inclusive", dlq.Filter{Since: base.Add(3 * time.Second)}, []string{g.ID, e.ID, c.ID}},
		{"until exclusive", dlq.Filter{Until: base.Add(3 * time.Second)}, []string{b.ID, a.ID}},
		{"since and until", dlq.Filter{Since: base.Add(2 * time.Second), Until: base.Add(5 * time.Second)}, []string{c.ID, b.ID}},
		{"limit", dlq.Filter{Limit: 2}, []string{g.ID, e.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := svc.List(context.Background(), tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ids(page.Items)); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListPreviewIsShortValidUTF8(t *testing.T) {
	f := newFixture(t)
	svc := f.service(nil)
	data := append([]byte(strings.Repeat("я", 150)), 0xff, 0xfe)
	data = append(data, []byte(strings.Repeat("€", 300))...)
	row := models.DLQMessage{ID: uuid.NewString(), StreamSeq: 1, OriginalSubject: "s", Data: data, Headers: models.JSONMap{}, CreatedAt: base}
	if err := f.db.Create(&row).Error; err != nil {
		t.Fatal(err)
	}
	page, err := svc.List(context.Background(), dlq.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	got := dlq.Preview(page.Items[0].Data, dlq.PreviewChars)
	want := strings.Repeat("я", 150) + "\uFFFD" + strings.Repeat("€", 49) // a run of invalid bytes is one U+FFFD
	if got != want {
		t.Errorf("preview = %q, want %q", got, want)
	}
}

func TestListPagingWhileMessagesArrive(t *testing.T) {
	f := newFixture(t)
	svc := f.service(nil)
	existing := map[string]bool{}
	seq := int64(0)
	for i := range 60 {
		seq++
		// Groups of three share a timestamp, so the id breaks ties.
		existing[insertRow(t, f.db, seq, "orders.created", time.Duration(i/3)*time.Second, false).ID] = true
	}
	seen := map[string]int{}
	next := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		page, err := svc.List(context.Background(), dlq.Filter{Limit: 7, Cursor: next})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Items {
			seen[m.ID]++
		}
		// New messages arrive between pages: newer ones, and one at the
		// very timestamp of the page's last item.
		seq++
		insertRow(t, f.db, seq, "orders.created", time.Hour+time.Duration(pages)*time.Second, false)
		if n := len(page.Items); n > 0 {
			seq++
			insertRow(t, f.db, seq, "orders.created", page.Items[n-1].CreatedAt.Sub(base), false)
		}
		if page.NextCursor == "" {
			break
		}
		next = page.NextCursor
	}
	for id := range existing {
		if seen[id] != 1 {
			t.Errorf("message %s seen %d times, want once", id, seen[id])
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s seen %d times", id, n)
		}
	}
}

func TestListRejects(t *testing.T) {
	f := newFixture(t)
	svc := f.service(nil)
	tests := []struct {
		name   string
		filter dlq.Filter
	}{
		{"garbage cursor", dlq.Filter{Cursor: "!!"}},
		{"cursor with a non-UUID id", dlq.Filter{Cursor: base64.RawURLEncoding.EncodeToString([]byte(`{"t":"2026-01-02T15:04:05Z","id":"1 OR 1=1"}`))}},
		{"wildcard in the middle", dlq.Filter{Subject: "orders.*.paid"}},
		{"until before since", dlq.Filter{Since: base, Until: base.Add(-time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.List(context.Background(), tt.filter)
			if !errs.Is(err, errs.CodeUnprocessable) {
				t.Fatalf("err = %v, want %s", err, errs.CodeUnprocessable)
			}
		})
	}
}
