package models

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
)

// JSONMap is a JSON object column: jsonb on PostgreSQL, TEXT on SQLite.
type JSONMap map[string]any

// Value implements driver.Valuer.
func (m JSONMap) Value() (driver.Value, error) {
	if m == nil {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// Scan implements sql.Scanner.
func (m *JSONMap) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*m = JSONMap{}
		return nil
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("JSONMap: cannot scan %T", src)
	}
	out := JSONMap{}
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("JSONMap: %w", err)
	}
	*m = out
	return nil
}
