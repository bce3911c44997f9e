package llmcheck

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// MaxInputBytes is the largest answer Check accepts. Real answers are a few
// KiB; the limit bounds the work one hostile answer can cause (JSON search,
// validation, warning scan) to well under a second. The HTTP handler enforces
// it on the body too.
const MaxInputBytes = 256 << 10

// Result is an answer that passed: Data is the normalized value that was
// validated, and Warnings lists suspicious strings inside it (never nil, so it
// renders as []).
type Result struct {
	Valid    bool      `json:"valid"`
	Data     any       `json:"data"`
	Warnings []Warning `json:"warnings"`
	// WarningsTruncated is set when more than 100 warnings were found and
	// only the first 100 are listed.
	WarningsTruncated bool `json:"warnings_truncated,omitempty"`
}

// Checker validates LLM answers against compiled schemas. It holds no
// per-call state, so one Checker serves every request concurrently.
type Checker struct {
	schemas  map[Kind]*jsonschema.Schema
	printer  *message.Printer
	detector *detector
}

// New compiles the embedded schemas once, so a broken schema fails at start
// rather than on the first request.
func New() (*Checker, error) {
	schemas, err := compileSchemas()
	if err != nil {
		return nil, err
	}
	return &Checker{
		schemas:  schemas,
		printer:  message.NewPrinter(language.English),
		detector: newDetector(),
	}, nil
}

// Check extracts the JSON value of raw (as extract does, except that an
// unfenced value of the wrong root type, such as "[1]" in prose, is skipped
// for a later one of the right type), normalizes it and validates it against
// the schema of k. On success the Result carries the normalized value
// (the one that was validated) and any warnings. A failure is an *errs.Error:
// errs.CodeUnprocessable when raw is too long (details.errors names the field
// llm_response), holds no JSON, or breaks the schema (details.errors lists
// every Violation, or the first 100 with details.truncated and details.total
// when there are more); errs.CodeInvalidRequest for an unknown kind. Any
// other error is internal and means a bug.
func (c *Checker) Check(k Kind, raw string) (Result, error) {
	sch, ok := c.schemas[k]
	if !ok {
		return Result{}, errs.Newf(errs.CodeInvalidRequest, "unknown llm response kind %q", string(k))
	}
	if len(raw) > MaxInputBytes {
		return Result{}, errs.Validation(errs.FieldError{
			Field:   "llm_response",
			Message: fmt.Sprintf("must be at most %d bytes", MaxInputBytes),
		})
	}
	v, err := extract(raw, rootType(k))
	if err != nil {
		return Result{}, err
	}
	v = normalize(k, v)
	if vs := numberViolations(v, nil, nil); len(vs) > 0 {
		slices.SortFunc(vs, func(a, b Violation) int { return strings.Compare(a.Path, b.Path) })
		return Result{}, mismatch(k, vs[:min(len(vs), maxReported)], len(vs))
	}
	if err := sch.Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return Result{}, fmt.Errorf("llmcheck: validate %s answer: %w", k, err)
		}
		vs, total := violationsOf(ve, c.printer)
		return Result{}, mismatch(k, vs, total)
	}
	warnings, truncated := c.detector.scan(v)
	return Result{Valid: true, Data: v, Warnings: warnings, WarningsTruncated: truncated}, nil
}

// rootType is the JSON type of the root value the schema of k wants.
func rootType(k Kind) string {
	if k == KindPatterns {
		return "array"
	}
	return "object"
}

// mismatch is the error of an answer that breaks the schema of k: vs lists
// the first of total violations.
func mismatch(k Kind, vs []Violation, total int) error {
	details := map[string]any{"errors": vs}
	if total > len(vs) {
		details["truncated"] = true
		details["total"] = total
	}
	return errs.Newf(errs.CodeUnprocessable, "llm response does not match the %s schema", k).WithDetails(details)
}

// compileSchemas compiles the schema of every Kind from the embedded files.
func compileSchemas() (map[Kind]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	urls := make(map[Kind]string, len(kinds()))
	for _, k := range kinds() {
		data, err := schemaFiles.ReadFile("schemas/" + string(k) + ".json")
		if err != nil {
			return nil, fmt.Errorf("llmcheck: read %s schema: %w", k, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("llmcheck: parse %s schema: %w", k, err)
		}
		urls[k] = schemaURL(k)
		if err := c.AddResource(urls[k], doc); err != nil {
			return nil, fmt.Errorf("llmcheck: add %s schema: %w", k, err)
		}
	}
	out := make(map[Kind]*jsonschema.Schema, len(urls))
	for k, u := range urls {
		sch, err := c.Compile(u)
		if err != nil {
			return nil, fmt.Errorf("llmcheck: compile %s schema: %w", k, err)
		}
		out[k] = sch
	}
	return out, nil
}

// schemaURL is the $id of the schema of k, under which it is compiled.
func schemaURL(k Kind) string {
	return "https://golden-architecture.local/schemas/llmcheck/" + string(k) + ".json"
}
