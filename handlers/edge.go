package handlers

import (
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/go-playground/validator/v10"

	"github.com/golden-architecture/control-plane/services/errs"
)

// The edge check: every string that comes from outside is looked at once,
// here, before any service or database sees it. PostgreSQL refuses a NUL
// byte and invalid UTF-8 in text (SQLite stores them), so without this the
// two databases disagreed and PostgreSQL answered 500.
//
//   - Every string of a bound body or query (bindJSON, bindQuery), at any
//     depth, must be valid UTF-8 without NUL, whatever its tags say; a field
//     tagged `edge:"raw"` is exempt (a raw LLM answer whose NUL bytes the
//     validator reports as a warning).
//   - An identifier (tag `ident`: ids, names, filters, keys) must also hold
//     no control character and not be blank after trimming.
//   - Path parameters (checkPathParams) and headers used as values
//     (headerIdent) follow the identifier rule.
//
// Every failure is 422 validation.unprocessable_entity naming the field.

// tagIdent is the validator tag of the identifier rule.
const tagIdent = "ident"

// textProblem is what is wrong with s as text, "" when nothing is.
func textProblem(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain NUL bytes"
	}
	return ""
}

// identProblem is what is wrong with s as an identifier, "" when nothing is.
func identProblem(s string) string {
	if p := textProblem(s); p != "" {
		return p
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "must not contain control characters"
	}
	if strings.TrimSpace(s) == "" {
		return "must not be blank"
	}
	return ""
}

// validIdent is the validator function of the `ident` tag. An empty string
// passes: `required` (or omitempty) decides whether one may be empty.
func validIdent(fl validator.FieldLevel) bool {
	s := fl.Field().String()
	return s == "" || identProblem(s) == ""
}

// checkStrings walks every string reachable from v (struct fields, pointers,
// slices, maps) and names each one that is not valid text. Field names are
// the json (or form) names, dotted and indexed as in the validator's errors.
func checkStrings(v any) error {
	var bad []errs.FieldError
	walkStrings(reflect.ValueOf(v), "", func(path, s string) {
		if p := textProblem(s); p != "" {
			bad = append(bad, errs.FieldError{Field: path, Message: p})
		}
	})
	if len(bad) > 0 {
		return errs.Validation(bad...)
	}
	return nil
}

// maxWalkDepth bounds the walk (JSON nesting is bounded by the body size,
// but a recursive type must not recurse forever).
const maxWalkDepth = 32

func walkStrings(v reflect.Value, path string, visit func(path, s string)) {
	walkStringsDepth(v, path, visit, 0)
}

func walkStringsDepth(v reflect.Value, path string, visit func(path, s string), depth int) {
	if depth > maxWalkDepth || !v.IsValid() {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStringsDepth(v.Elem(), path, visit, depth+1)
		}
	case reflect.String:
		visit(path, v.String())
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Tag.Get("edge") == "raw" {
				continue
			}
			walkStringsDepth(v.Field(i), joinPath(path, fieldName(f)), visit, depth+1)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // []byte is data, not text
		}
		for i := range v.Len() {
			walkStringsDepth(v.Index(i), path+"["+strconv.Itoa(i)+"]", visit, depth+1)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key()
			name := path
			if k.Kind() == reflect.String {
				visit(joinPath(path, "(key)"), k.String())
				name = joinPath(path, k.String())
			}
			walkStringsDepth(iter.Value(), name, visit, depth+1)
		}
	}
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// fieldName is the name a client knows a field by: its json, form or uri name.
func fieldName(f reflect.StructField) string {
	for _, tag := range []string{"json", "form", "uri"} {
		name, _, _ := strings.Cut(f.Tag.Get(tag), ",")
		if name != "" && name != "-" {
			return name
		}
	}
	return f.Name
}

// checkPathParams refuses a path parameter that is not an identifier: no id
// of this API holds a control character or is blank, and PostgreSQL would
// refuse the bytes. It runs for every /api/v1 route, so a new route with a
// parameter needs nothing of its own.
func checkPathParams() gin.HandlerFunc {
	return func(c *gin.Context) {
		var bad []errs.FieldError
		for _, p := range c.Params {
			if problem := identProblem(p.Value); problem != "" {
				bad = append(bad, errs.FieldError{Field: p.Key, Message: problem})
			}
		}
		if len(bad) > 0 {
			_ = c.Error(errs.Validation(bad...))
			c.Abort()
		}
	}
}

// headerIdent returns the value of a header that is used as an identifier
// (an idempotency key, say), "" when absent. On false the 422 naming the
// header is attached and the handler returns.
func headerIdent(c *gin.Context, name string) (string, bool) {
	v := c.GetHeader(name)
	if v == "" {
		return "", true
	}
	if p := identProblem(v); p != "" {
		_ = c.Error(errs.Validation(errs.FieldError{Field: name, Message: p}))
		return "", false
	}
	return v, true
}
