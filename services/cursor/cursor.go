// Package cursor encodes the position of keyset ("newest first") paging: the
// created_at and id of the last item returned. Keyset paging returns every row
// once even while new rows arrive, which offset paging cannot.
package cursor

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/golden-architecture/control-plane/services/errs"
)

// Cursor is the last item of a page.
type Cursor struct {
	At time.Time `json:"t"`
	ID string    `json:"id"`
}

// Encode returns the opaque token of c.
func Encode(at time.Time, id string) string {
	b, _ := json.Marshal(Cursor{At: at.UTC(), ID: id}) // a struct of a time and a string always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode parses a token from a client; "" means the first page.
func Decode(token string) (*Cursor, error) {
	if token == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, invalid()
	}
	var c Cursor
	if err := json.Unmarshal(b, &c); err != nil || c.At.IsZero() || c.ID == "" {
		return nil, invalid()
	}
	return &c, nil
}

func invalid() error {
	return errs.Validation(errs.FieldError{Field: "cursor", Message: "is not a cursor returned by this API"})
}

// Limit clamps a requested page size: 0 gives def, anything above max is max.
func Limit(requested, def, max int) int {
	switch {
	case requested <= 0:
		return def
	case requested > max:
		return max
	}
	return requested
}
