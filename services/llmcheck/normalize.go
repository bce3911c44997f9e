package llmcheck

import (
	"strings"
)

// normalize rewrites v in place into the form the schemas judge and callers
// receive: every string value trimmed (object keys untouched, so two keys can
// never collapse into one) and the enum fields of k lowercased, so " Fix " is
// accepted as "fix". Both steps are idempotent, so normalizing a returned
// value again changes nothing.
func normalize(k Kind, v any) any {
	v = trimStrings(v)
	switch k {
	case KindSynthesis:
		if obj, ok := v.(map[string]any); ok {
			if plan, ok := obj["action_plan"].([]any); ok {
				for _, item := range plan {
					lowerField(item, "type")
				}
			}
		}
	case KindConsensus:
		lowerField(v, "decision")
	case KindPatterns:
		if list, ok := v.([]any); ok {
			for _, item := range list {
				lowerField(item, "pattern_type")
			}
		}
	}
	return v
}

// trimStrings trims every string value inside v.
func trimStrings(v any) any {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case map[string]any:
		for k, e := range x {
			x[k] = trimStrings(e)
		}
	case []any:
		for i, e := range x {
			x[i] = trimStrings(e)
		}
	}
	return v
}

// lowerField lowercases the string member name of v when v is an object that
// has one.
func lowerField(v any, name string) {
	obj, ok := v.(map[string]any)
	if !ok {
		return
	}
	if s, ok := obj[name].(string); ok {
		obj[name] = strings.ToLower(s)
	}
}
