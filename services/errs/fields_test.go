package errs_test

import (
	"reflect"
	"testing"

	"github.com/golden-architecture/control-plane/services/errs"
)

func TestFields(t *testing.T) {
	var none errs.Fields
	none.Text("title", "a fine title\twith a tab", 64, true)
	if err := none.Err(); err != nil {
		t.Fatalf("no failed rule: Err() = %v, want nil", err)
	}

	var f errs.Fields
	f.Text("title", "   ", 64, true)
	f.Text("note", "", 64, false)
	f.Text("description", "héllo", 4, false)
	f.Text("reason", "bell\a", 64, false)
	f.Add("state", "is not allowed")
	err := f.Err()
	if !errs.Is(err, errs.CodeUnprocessable) {
		t.Fatalf("Err() = %v, want %s", err, errs.CodeUnprocessable)
	}
	want := []errs.FieldError{
		{Field: "title", Message: "must not be blank"},
		{Field: "description", Message: "must be at most 4 characters"},
		{Field: "reason", Message: "must not contain control characters"},
		{Field: "state", Message: "is not allowed"},
	}
	if got := err.(*errs.Error).Details["errors"]; !reflect.DeepEqual(got, want) {
		t.Errorf("details.errors = %v, want %v", got, want)
	}
}
