// Package cursor pages every list of the API the same way: newest first by
// (created_at, id), with an opaque cursor naming the last item returned.
// Keyset paging returns every row once even while new rows arrive, which
// offset paging cannot. A list service parses the client's cursor and page
// size with Parse, adds the keyset to its query with Keyset.Apply, and cuts
// the rows into a Page with Cut.
package cursor

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/services/errs"
)

// Page sizes of every list: a request without a limit gets DefaultLimit
// items, and a larger limit than MaxLimit gets MaxLimit.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Page is one page of a list, newest first.
type Page[T any] struct {
	Items []T
	// NextCursor continues after the last item; "" on the last page.
	NextCursor string
}

// position is the last item of a page, as its cursor carries it.
type position struct {
	At time.Time `json:"t"`
	ID string    `json:"id"`
}

// Keyset is where a page starts and how long it is.
type Keyset struct {
	after *position
	// key is the id half of after, as the list's id column compares it.
	key   any
	limit int
}

// Parse reads a client's cursor ("" for the first page) and page size (0 for
// the default). parseID turns the id half of the cursor into the value the
// list's id column compares with, and reports false for an id the list
// cannot have; such a cursor, or one this package did not make, is a 422.
func Parse(token string, limit int, parseID func(string) (any, bool)) (Keyset, error) {
	k := Keyset{limit: clamp(limit)}
	if token == "" {
		return k, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return Keyset{}, invalid()
	}
	var p position
	if err := json.Unmarshal(b, &p); err != nil || p.At.IsZero() || p.ID == "" {
		return Keyset{}, invalid()
	}
	key, ok := parseID(p.ID)
	if !ok {
		return Keyset{}, invalid()
	}
	k.after, k.key = &p, key
	return k, nil
}

// Apply adds the keyset to q: rows after the cursor, newest first, one row
// more than the page size so that Cut can tell whether another page follows.
// The condition leads with created_at <= the cursor's time, which the OR
// implies: it is what lets the database start the scan of a (…, created_at
// DESC, id DESC) index at the cursor. Without it PostgreSQL read the index
// from the newest row and filtered, so a page deep in a long list cost the
// whole list before it (docs/PERFORMANCE.md, growth).
func (k Keyset) Apply(q *gorm.DB) *gorm.DB {
	if k.after != nil {
		at := DBTime(k.after.At)
		q = q.Where("created_at <= ? AND (created_at < ? OR (created_at = ? AND id < ?))", at, at, at, k.key)
	}
	return q.Order("created_at DESC").Order("id DESC").Limit(k.limit + 1)
}

// Cut turns the rows of a query built with Apply into a page: at most the page
// size, converted by item, with the cursor of the last one when more follow.
// key returns a row's created_at and id.
func Cut[Row, T any](k Keyset, rows []Row, key func(Row) (time.Time, string), item func(Row) T) Page[T] {
	n := min(len(rows), k.limit)
	p := Page[T]{Items: make([]T, n)}
	for i, r := range rows[:n] {
		p.Items[i] = item(r)
	}
	if len(rows) > k.limit {
		at, id := key(rows[n-1])
		p.NextCursor = encode(at, id)
	}
	return p
}

// Between adds a created_at range to q: since inclusive, until exclusive; a
// zero bound is open. A range that ends before it starts is a 422.
func Between(q *gorm.DB, since, until time.Time) (*gorm.DB, error) {
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return nil, errs.Validation(errs.FieldError{Field: "until", Message: "must be after since"})
	}
	if !since.IsZero() {
		q = q.Where("created_at >= ?", DBTime(since))
	}
	if !until.IsZero() {
		q = q.Where("created_at < ?", DBTime(until))
	}
	return q, nil
}

// DBTime is t as the database keeps it: UTC, in microseconds (what
// PostgreSQL keeps), so that a time a service returns equals the one it
// stored, and a cursor made from a stored row compares equal to that row on
// both databases.
func DBTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// DBClock is clock (time.Now when nil) read as DBTime: the clock of a
// service that stores what it reads.
func DBClock(clock func() time.Time) func() time.Time {
	if clock == nil {
		clock = time.Now
	}
	return func() time.Time { return DBTime(clock()) }
}

// encode returns the opaque token of a position.
func encode(at time.Time, id string) string {
	b, _ := json.Marshal(position{At: at.UTC(), ID: id}) // a struct of a time and a string always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

func invalid() error {
	return errs.Validation(errs.FieldError{Field: "cursor", Message: "is not a cursor returned by this API"})
}

// clamp applies the page sizes: 0 (or less) gives DefaultLimit, anything
// above MaxLimit is MaxLimit.
func clamp(requested int) int {
	switch {
	case requested <= 0:
		return DefaultLimit
	case requested > MaxLimit:
		return MaxLimit
	}
	return requested
}
