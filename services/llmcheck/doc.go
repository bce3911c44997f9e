// Package llmcheck validates raw LLM answers before an agent acts on them.
//
// An answer is free text that should carry one JSON value. Check extracts that
// value (see extract), normalizes it (strings trimmed, enum values lowercased),
// validates the normalized value against the JSON Schema of its Kind and
// returns exactly that value, so a caller never receives data the schema
// rejects. Strings that look like injected SQL, script tags, shell syntax,
// path traversal or NUL bytes are reported as warnings and never rewritten:
// the caller decides what to do with them.
//
// Unknown properties are allowed and kept: models add fields such as
// "summary", and refusing an otherwise sound answer for them would only make
// agents retry. Only the properties a schema lists are constrained, and object
// keys are never rewritten by normalization.
//
// Numbers are kept as written (json.Number), so large integers survive. A
// number literal longer than 1000 characters or with an exponent beyond
// ±1000 is refused before validation: the validator would spend seconds on
// it, or crash.
//
// A Checker is safe for concurrent use; build one with New and share it.
package llmcheck
