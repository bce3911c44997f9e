package budget

import (
	"strconv"

	"github.com/google/uuid"

	"github.com/golden-architecture/control-plane/services/errs"
)

// Input bounds. They are part of the API contract (the handlers' binding tags
// and swag annotations repeat them).
const (
	// MaxTokens bounds estimated and actual tokens of one call.
	MaxTokens = 1_000_000_000
	// MaxLimit bounds a budget's total_limit (the BUDGET_DEFAULT_LIMIT bound).
	MaxLimit = 1_000_000_000_000
	// MaxIDLength bounds tenant, project, task, model and idempotency key.
	MaxIDLength = 128
	// MaxPurposeLength bounds the free-text purpose.
	MaxPurposeLength = 256
	// MaxCommitRatio bounds BUDGET_COMMIT_MAX_RATIO.
	MaxCommitRatio = 1000
)

// fieldErrors collects every failed rule of one input so a client learns all
// of them in one 422.
type fieldErrors []errs.FieldError

func (f *fieldErrors) add(field, msg string) {
	*f = append(*f, errs.FieldError{Field: field, Message: msg})
}

// id checks an identifier: 1 to MaxIDLength printable ASCII characters.
func (f *fieldErrors) id(field, v string) {
	f.text(field, v, MaxIDLength, true)
}

func (f *fieldErrors) text(field, v string, maxLen int, required bool) {
	switch {
	case v == "" && required:
		f.add(field, "is required")
	case len(v) > maxLen:
		f.add(field, "must be at most "+strconv.Itoa(maxLen)+" characters")
	case !printableASCII(v):
		f.add(field, "must contain printable ASCII characters only")
	}
}

func (f *fieldErrors) tokens(field string, v int64) {
	if v < 1 || v > MaxTokens {
		f.add(field, "must be a whole number from 1 to "+strconv.Itoa(MaxTokens))
	}
}

func (f *fieldErrors) err() error {
	if len(*f) == 0 {
		return nil
	}
	return errs.Validation(*f...)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// reservationID normalises a reservation id. Anything that is not a UUID
// cannot name a reservation, so it is answered like an unknown one.
func reservationID(s string) (string, error) {
	u, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return "", notFound()
	}
	return u.String(), nil
}

func notFound() error {
	return errs.New(errs.CodeNotFound, "reservation not found for this tenant and project")
}
