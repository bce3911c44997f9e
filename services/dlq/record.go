package dlq

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/cursor"
)

// Header names a producer sets when it dead-letters a message; matched
// without regard to case.
const (
	HeaderError      = "error"
	HeaderAttempts   = "attempts"
	HeaderErrorCount = "error_count"
)

// toRow turns a delivered DLQ message into its row.
func toRow(m jetstream.Msg, prefix string) (models.DLQMessage, error) {
	meta, err := m.Metadata()
	if err != nil {
		return models.DLQMessage{}, fmt.Errorf("message metadata: %w", err)
	}
	created := meta.Timestamp
	if created.IsZero() {
		created = time.Now()
	}
	attempts, ok := headerInt(m.Headers(), HeaderAttempts, HeaderErrorCount)
	if !ok {
		attempts = int(min(meta.NumDelivered, 1<<31-1))
	}
	return models.DLQMessage{
		ID:              newID(),
		StreamSeq:       int64(meta.Sequence.Stream), // #nosec G115 -- JetStream sequences stay far below 2^63
		OriginalSubject: strings.TrimPrefix(m.Subject(), prefix+"."),
		Data:            nonNil(m.Data()),
		Headers:         headersToJSON(m.Headers()),
		Error:           headerValue(m.Headers(), HeaderError),
		ErrorCount:      attempts,
		CreatedAt:       cursor.DBTime(created),
	}, nil
}

func newID() string {
	if id, err := uuid.NewV7(); err == nil { // time-ordered keys keep the primary key index compact
		return id.String()
	}
	return uuid.NewString()
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func headerValue(h nats.Header, names ...string) string {
	for _, name := range names {
		for k, v := range h {
			if strings.EqualFold(k, name) && len(v) > 0 {
				return v[0]
			}
		}
	}
	return ""
}

func headerInt(h nats.Header, names ...string) (int, bool) {
	for _, name := range names {
		n, err := strconv.Atoi(strings.TrimSpace(headerValue(h, name)))
		if err == nil && n >= 0 {
			return n, true
		}
	}
	return 0, false
}

// headersToJSON stores headers as {"name": ["value", ...]}.
func headersToJSON(h nats.Header) models.JSONMap {
	out := models.JSONMap{}
	for k, v := range h {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// headersFromJSON reads back what headersToJSON stored.
func headersFromJSON(m models.JSONMap) map[string][]string {
	out := make(map[string][]string, len(m))
	for k, v := range m {
		switch vs := v.(type) {
		case []string:
			out[k] = append([]string(nil), vs...)
		case []any:
			for _, x := range vs {
				out[k] = append(out[k], fmt.Sprint(x))
			}
		case string:
			out[k] = []string{vs}
		}
	}
	return out
}

// requeueHeaders are the stored headers minus JetStream's own "Nats-*"
// control headers (message id, expectations, rollup, TTL), which belonged to
// the original publish and would make the republish fail or be deduplicated
// wrongly.
func requeueHeaders(h map[string][]string) nats.Header {
	out := nats.Header{}
	for k, v := range h {
		if !strings.HasPrefix(strings.ToLower(k), "nats-") {
			out[k] = append([]string(nil), v...)
		}
	}
	return out
}

// Preview is the first n characters of data as valid UTF-8 (invalid bytes
// become U+FFFD), for listings.
func Preview(data []byte, n int) string {
	s := strings.ToValidUTF8(string(data), "\uFFFD")
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}
