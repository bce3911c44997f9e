package cursor_test

import (
	"testing"
	"time"

	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
)

func TestLimit(t *testing.T) {
	for _, c := range []struct{ requested, want int }{
		{-5, 50}, {0, 50}, {1, 1}, {199, 199}, {200, 200}, {201, 200}, {1 << 30, 200},
	} {
		if got := cursor.Limit(c.requested, 50, 200); got != c.want {
			t.Errorf("Limit(%d, 50, 200) = %d, want %d", c.requested, got, c.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 4, 5, 123456000, time.FixedZone("EET", 2*3600))
	c, err := cursor.Decode(cursor.Encode(at, "42"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.At.Equal(at) || c.At.Location() != time.UTC || c.ID != "42" {
		t.Errorf("decoded %+v, want %v in UTC and id 42", c, at)
	}
	if c, err := cursor.Decode(""); c != nil || err != nil {
		t.Errorf(`Decode("") = %v, %v; want the first page`, c, err)
	}
}

func TestDecodeRefusesForeignTokens(t *testing.T) {
	for _, token := range []string{
		"not base64!",
		"bm90IGpzb24", // "not json"
		"eyJ0IjoiMDAwMS0wMS0wMVQwMDowMDowMFoiLCJpZCI6IjEifQ", // zero time
		"eyJ0IjoiMjAyNi0wMS0wMlQxNTowNDowNVoifQ",             // no id
	} {
		if c, err := cursor.Decode(token); c != nil || !errs.Is(err, errs.CodeUnprocessable) {
			t.Errorf("Decode(%q) = %v, %v; want a 422 validation error", token, c, err)
		}
	}
}
