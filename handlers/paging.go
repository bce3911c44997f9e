package handlers

import (
	"time"

	"github.com/golden-architecture/control-plane/services/errs"
)

// nextCursor is the next_cursor of every list answer: always present, null
// on the last page.
func nextCursor(token string) *string {
	if token == "" {
		return nil
	}
	return &token
}

// convert is the DTO of every item of a page, in order.
func convert[T, D any](items []T, dto func(T) D) []D {
	out := make([]D, len(items))
	for i, item := range items {
		out[i] = dto(item)
	}
	return out
}

// timeRange parses the since and until parameters of a list (RFC 3339, with
// or without fractional seconds; empty means unbounded). Every malformed one
// is named in one 422.
func timeRange(since, until string) (from, to time.Time, err error) {
	var bad []errs.FieldError
	for _, p := range []struct {
		name, raw string
		dst       *time.Time
	}{{"since", since, &from}, {"until", until, &to}} {
		if p.raw == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, p.raw)
		if err != nil {
			bad = append(bad, errs.FieldError{Field: p.name, Message: "must be an RFC 3339 timestamp"})
			continue
		}
		*p.dst = t
	}
	if len(bad) > 0 {
		return time.Time{}, time.Time{}, errs.Validation(bad...)
	}
	return from, to, nil
}
