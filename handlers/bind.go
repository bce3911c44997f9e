package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"
	"github.com/go-playground/validator/v10"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/errs"
)

// bindJSON decodes the body into dst and validates its `binding` tags. On
// failure it attaches the error for the renderer and returns false:
// malformed JSON → 400, a wrong type or failed rule → 422 naming the field,
// a body over the limit → 413.
//
// Every string of the body then passes the edge check (edge.go): valid UTF-8
// without NUL, and the identifier rule where a field is tagged `ident`.
func bindJSON(c *gin.Context, dst any) bool {
	if err := decodeJSON(c.Request.Body, dst); err != nil {
		_ = c.Error(err)
		return false
	}
	if err := checkStrings(dst); err != nil {
		_ = c.Error(err)
		return false
	}
	if err := validate(dst); err != nil {
		_ = c.Error(err)
		return false
	}
	return true
}

// bindQuery binds query parameters (`form` tags), checks their strings at the
// edge and validates them.
func bindQuery(c *gin.Context, dst any) bool {
	if err := c.ShouldBindQuery(dst); err != nil {
		_ = c.Error(bindingError(err))
		return false
	}
	if err := checkStrings(dst); err != nil {
		_ = c.Error(err)
		return false
	}
	return true
}

// decodeJSON decodes one JSON value. The body is read whole first (the body
// limit bounds it) so that invalid UTF-8, which encoding/json would silently
// turn into U+FFFD, is refused as malformed JSON (RFC 8259 §8.1).
func decodeJSON(body io.Reader, dst any) error {
	raw, err := io.ReadAll(body)
	if err != nil {
		return jsonError(err)
	}
	if !utf8.Valid(raw) {
		return errs.New(errs.CodeInvalidRequest, "request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if err == nil || !isJSONSyntax(err) {
			return errs.New(errs.CodeInvalidRequest, "request body must hold a single JSON value")
		}
		return jsonError(err)
	}
	return nil
}

func isJSONSyntax(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF)
}

func jsonError(err error) error {
	var (
		maxErr  *http.MaxBytesError
		typeErr *json.UnmarshalTypeError
		synErr  *json.SyntaxError
	)
	switch {
	case errors.As(err, &maxErr):
		return middleware.TooLarge(maxErr.Limit)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return errs.New(errs.CodeInvalidRequest, "request body must be a JSON object")
		}
		return errs.Validation(errs.FieldError{Field: field, Message: typeMessage(typeErr)})
	case errors.As(err, &synErr):
		return errs.Newf(errs.CodeInvalidRequest, "malformed JSON at byte %d: %s", synErr.Offset, synErr.Error())
	case errors.Is(err, io.EOF):
		return errs.New(errs.CodeInvalidRequest, "request body is empty; a JSON object is expected")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.New(errs.CodeInvalidRequest, "malformed JSON: unexpected end of body")
	}
	return errs.Wrap(errs.CodeInvalidRequest, "request body is not valid JSON", err)
}

func typeMessage(e *json.UnmarshalTypeError) string {
	switch e.Type.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if e.Value == "number" || strings.HasPrefix(e.Value, "number ") {
			return "must be a whole number within range"
		}
		return "must be an integer, not " + e.Value
	case reflect.String:
		return "must be a string, not " + e.Value
	case reflect.Bool:
		return "must be a boolean, not " + e.Value
	}
	return fmt.Sprintf("must be %s, not %s", e.Type.Kind(), e.Value)
}

func validate(dst any) error {
	if binding.Validator == nil {
		return nil
	}
	if err := binding.Validator.ValidateStruct(dst); err != nil {
		return bindingError(err)
	}
	return nil
}

// bindingError turns validator errors into 422 with one entry per field.
func bindingError(err error) error {
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		var e *errs.Error
		if errors.As(err, &e) {
			return e
		}
		return errs.Validation(errs.FieldError{Field: "query", Message: err.Error()})
	}
	fields := make([]errs.FieldError, 0, len(verrs))
	for _, fe := range verrs {
		fields = append(fields, errs.FieldError{Field: fieldPath(fe), Message: ruleMessage(fe)})
	}
	return errs.Validation(fields...)
}

func fieldPath(fe validator.FieldError) string {
	ns := fe.Namespace()
	if _, rest, ok := strings.Cut(ns, "."); ok {
		return rest
	}
	return fe.Field()
}

func ruleMessage(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "min":
		if fe.Kind() == reflect.String {
			return "must be at least " + fe.Param() + " characters"
		}
		return "must be at least " + fe.Param()
	case "max":
		if fe.Kind() == reflect.String {
			return "must be at most " + fe.Param() + " characters"
		}
		return "must be at most " + fe.Param()
	case "oneof":
		return "must be one of: " + strings.ReplaceAll(fe.Param(), " ", ", ")
	case "printascii":
		return "must contain printable ASCII characters only"
	case tagIdent:
		if s, ok := fe.Value().(string); ok {
			if p := identProblem(s); p != "" {
				return p
			}
		}
		return "must be an identifier: valid UTF-8, no control characters, not blank"
	case "uuid", "uuid4":
		return "must be a UUID"
	case "rfc3339":
		return "must be an RFC 3339 timestamp"
	}
	return "failed rule " + fe.Tag()
}

// validatorSetUp registers the field-name function and the edge rules once:
// the validator is gin's process-wide one, and routers built concurrently
// (parallel tests, or one being built while another validates) must not race
// on it.
var validatorSetUp sync.Once

// setUpValidator makes validator report fields by their json (or form) name
// and know the `ident` rule of edge.go.
func setUpValidator() {
	validatorSetUp.Do(func() {
		v, ok := binding.Validator.Engine().(*validator.Validate)
		if !ok {
			return
		}
		v.RegisterTagNameFunc(fieldName)
		if err := v.RegisterValidation(tagIdent, validIdent); err != nil {
			panic(err) // only an empty tag name fails
		}
	})
}
