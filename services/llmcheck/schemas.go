package llmcheck

import "embed"

// schemaFiles holds one JSON Schema per Kind, named after it. They ship in
// the binary so the service cannot start with schemas missing.
//
//go:embed schemas/*.json
var schemaFiles embed.FS
