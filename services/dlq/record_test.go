package dlq

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"

	"github.com/golden-architecture/control-plane/services/errs"
)

func TestPreview(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		n    int
		want string
	}{
		{"short text is whole", []byte(`{"id":1}`), 200, `{"id":1}`},
		{"cut at n characters, not bytes", []byte(strings.Repeat("é", 5)), 3, "ééé"},
		{"invalid bytes become U+FFFD", []byte{'a', 0xff, 'b'}, 200, "a\uFFFDb"},
		{"empty", nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Preview(tt.data, tt.n)
			if got != tt.want {
				t.Errorf("Preview = %q, want %q", got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("Preview %q is not valid UTF-8", got)
			}
		})
	}
}

func TestParseSubjectFilter(t *testing.T) {
	tests := []struct {
		in                string
		wantExact, wantPx string
		wantErr           bool
	}{
		{in: ""},
		{in: ">"},
		{in: "orders.created", wantExact: "orders.created"},
		{in: "orders.>", wantPx: "orders."},
		{in: "a.b_c.>", wantPx: "a.b_c."},
		{in: "orders.*", wantErr: true},
		{in: "orders>", wantErr: true},
		{in: "orders..x", wantErr: true},
		{in: ".>", wantErr: true},
		{in: "or ders", wantErr: true},
		{in: "orders.>.x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			exact, px, err := parseSubjectFilter(tt.in)
			if tt.wantErr {
				if !errs.Is(err, errs.CodeUnprocessable) {
					t.Fatalf("err = %v, want %s", err, errs.CodeUnprocessable)
				}
				return
			}
			if err != nil || exact != tt.wantExact || px != tt.wantPx {
				t.Errorf("got (%q, %q, %v), want (%q, %q, nil)", exact, px, err, tt.wantExact, tt.wantPx)
			}
		})
	}
}

func TestHeadersRoundTrip(t *testing.T) {
	h := nats.Header{"error": {"timeout"}, "X-Trace": {"a", "b"}, "Nats-Msg-Id": {"orig-1"}, "nats-expected-stream": {"S"}}
	stored := headersToJSON(h)
	// What the database hands back is JSON decoded into []any.
	decoded := map[string]any{}
	for k, v := range stored {
		var vs []any
		for _, s := range v.([]string) {
			vs = append(vs, s)
		}
		decoded[k] = vs
	}
	got := headersFromJSON(decoded)
	if diff := cmp.Diff(map[string][]string(h), got); diff != "" {
		t.Errorf("headers changed through storage (-want +got):\n%s", diff)
	}
	requeued := requeueHeaders(got)
	want := nats.Header{"error": {"timeout"}, "X-Trace": {"a", "b"}}
	if diff := cmp.Diff(want, requeued); diff != "" {
		t.Errorf("requeue headers (-want +got):\n%s", diff)
	}
}

func TestHeaderLookup(t *testing.T) {
	tests := []struct {
		name      string
		h         nats.Header
		wantError string
		wantN     int
		wantOK    bool
	}{
		{"lower case", nats.Header{"error": {"timeout"}, "attempts": {"3"}}, "timeout", 3, true},
		{"any case, error_count", nats.Header{"Error": {"boom"}, "Error_Count": {"7"}}, "boom", 7, true},
		{"attempts wins over error_count", nats.Header{"attempts": {"2"}, "error_count": {"9"}}, "", 2, true},
		{"not a number", nats.Header{"attempts": {"many"}}, "", 0, false},
		{"negative", nats.Header{"attempts": {"-1"}}, "", 0, false},
		{"none", nil, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := headerValue(tt.h, HeaderError); got != tt.wantError {
				t.Errorf("error = %q, want %q", got, tt.wantError)
			}
			n, ok := headerInt(tt.h, HeaderAttempts, HeaderErrorCount)
			if n != tt.wantN || ok != tt.wantOK {
				t.Errorf("attempts = (%d, %v), want (%d, %v)", n, ok, tt.wantN, tt.wantOK)
			}
		})
	}
}

func TestUnderPrefix(t *testing.T) {
	o := Options{SubjectPrefix: "dlq"}.withDefaults()
	for subject, want := range map[string]bool{
		"dlq": true, "dlq.orders": true, "dlqx.orders": false, "orders.dlq": false, "orders": false,
	} {
		if got := o.underPrefix(subject); got != want {
			t.Errorf("underPrefix(%q) = %v, want %v", subject, got, want)
		}
	}
}
