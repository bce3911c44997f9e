package handlers_test

import (
	"bytes"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// With OTEL_EXPORTER_OTLP_ENDPOINT set, a gateway call is exported over
// OTLP/HTTP when the server stops: its spans carry the client's trace id and
// the request id, and the provider got a traceparent of that trace naming
// one of the exported spans, not the client's.
func TestGatewayTracesExportedOverOTLP(t *testing.T) {
	var (
		mu      sync.Mutex
		exports [][]byte
	)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/traces" {
			mu.Lock()
			exports = append(exports, b)
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	const trace, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	var upstream string
	t.Run("call", func(t *testing.T) {
		s := newGatewayServer(t, "OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
		s.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/chat/completions", Token: s.admin,
			Header: map[string]string{"traceparent": "00-" + trace + "-" + clientSpan + "-01", "X-Request-ID": "trace-req-1"},
			Body:   chatBody(20, "")}).WantStatus(t, http.StatusOK)
		_, h := s.fake.Last()
		upstream = h.Get("Traceparent")
		// The server stops at the end of this subtest, flushing its spans.
	})
	parts := strings.Split(upstream, "-")
	if len(parts) != 4 || parts[1] != trace || parts[2] == clientSpan {
		t.Fatalf("upstream traceparent = %q; want the client's trace with the gateway's span", upstream)
	}
	mu.Lock()
	all := bytes.Join(exports, nil)
	mu.Unlock()
	traceID, _ := hex.DecodeString(trace)
	spanID, _ := hex.DecodeString(parts[2])
	for what, want := range map[string][]byte{
		"call span": []byte("chat fake-mini"), "upstream span": []byte("chat fake-upstream"),
		"reserve span": []byte("gateway.budget.reserve"), "settle span": []byte("gateway.budget.settle"),
		"request id": []byte("trace-req-1"), "GenAI attribute": []byte("gen_ai.usage.output_tokens"),
		"client's trace id": traceID, "upstream span id": spanID,
	} {
		if !bytes.Contains(all, want) {
			t.Errorf("the OTLP exports (%d) hold no %s", len(exports), what)
		}
	}
}
