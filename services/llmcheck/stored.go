package llmcheck

import "encoding/json"

// Stored is what a service keeps of a check (a JSON object in its row): the
// data the answer held and the warnings it raised. Read it back with
// FromStored.
func Stored(data any, warnings []Warning) map[string]any {
	return map[string]any{"data": data, "warnings": warnings}
}

// FromStored reads what Stored kept, also after a trip through the
// database's JSON: the data, and the warnings (never nil, so they render as
// []). A malformed warning list reads as none.
func FromStored(m map[string]any) (data any, warnings []Warning) {
	warnings = []Warning{}
	if b, err := json.Marshal(m["warnings"]); err == nil {
		var ws []Warning
		if json.Unmarshal(b, &ws) == nil && ws != nil {
			warnings = ws
		}
	}
	return m["data"], warnings
}
