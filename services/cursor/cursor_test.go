package cursor_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
)

// row stands for a stored row of a list.
type row struct {
	at time.Time
	id int
}

func rowKey(r row) (time.Time, string) { return r.at, strconv.Itoa(r.id) }

func rowID(r row) int { return r.id }

func numericID(s string) (any, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// rows returns n rows, newest first, as a query built with Apply returns them.
func rows(n int) []row {
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	out := make([]row, n)
	for i := range out {
		out[i] = row{at: at.Add(-time.Duration(i) * time.Second), id: n - i}
	}
	return out
}

func TestPageSizes(t *testing.T) {
	for _, c := range []struct{ requested, want int }{
		{-5, cursor.DefaultLimit}, {0, cursor.DefaultLimit}, {1, 1}, {199, 199},
		{cursor.MaxLimit, cursor.MaxLimit}, {cursor.MaxLimit + 1, cursor.MaxLimit}, {1 << 30, cursor.MaxLimit},
	} {
		k, err := cursor.Parse("", c.requested, numericID)
		if err != nil {
			t.Fatal(err)
		}
		// A query fetches one row more than the page size.
		p := cursor.Cut(k, rows(c.want+1), rowKey, rowID)
		if len(p.Items) != c.want || p.NextCursor == "" {
			t.Errorf("limit %d: %d items, next cursor %q; want %d and a cursor", c.requested, len(p.Items), p.NextCursor, c.want)
		}
		if last := cursor.Cut(k, rows(c.want), rowKey, rowID); len(last.Items) != c.want || last.NextCursor != "" {
			t.Errorf("limit %d, last page: %d items, next cursor %q; want %d and none", c.requested, len(last.Items), last.NextCursor, c.want)
		}
	}
}

// TestCursorNamesTheLastItem: the next cursor parses back to the last item
// of the page, whose id reaches parseID.
func TestCursorNamesTheLastItem(t *testing.T) {
	k, _ := cursor.Parse("", 2, numericID)
	p := cursor.Cut(k, rows(3), rowKey, rowID)
	if len(p.Items) != 2 || p.Items[1] != 2 {
		t.Fatalf("items = %v, want [3 2]", p.Items)
	}
	var got string
	if _, err := cursor.Parse(p.NextCursor, 0, func(id string) (any, bool) { got = id; return id, true }); err != nil {
		t.Fatal(err)
	}
	if got != "2" {
		t.Errorf("cursor id = %q, want 2 (the last item)", got)
	}
}

func TestParseRefusesForeignTokens(t *testing.T) {
	for _, token := range []string{
		"not base64!",
		"bm90IGpzb24", // "not json"
		"eyJ0IjoiMDAwMS0wMS0wMVQwMDowMDowMFoiLCJpZCI6IjEifQ",   // zero time
		"eyJ0IjoiMjAyNi0wMS0wMlQxNTowNDowNVoifQ",               // no id
		"eyJ0IjoiMjAyNi0wMS0wMlQxNTowNDowNVoiLCJpZCI6Im5vdCJ9", // an id numericID refuses
	} {
		if _, err := cursor.Parse(token, 0, numericID); !errs.Is(err, errs.CodeUnprocessable) {
			t.Errorf("Parse(%q) = %v; want a 422 validation error", token, err)
		}
	}
}

func TestBetweenRefusesAnEmptyRange(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	for _, until := range []time.Time{at, at.Add(-time.Second)} {
		if _, err := cursor.Between(nil, at, until); !errs.Is(err, errs.CodeUnprocessable) {
			t.Errorf("Between(%v, %v) = %v; want a 422", at, until, err)
		}
	}
}
