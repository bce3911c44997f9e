package tracing_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/golden-architecture/control-plane/platform/tracing"
)

// Without an endpoint the provider is the no-op one: its spans record
// nothing and there is nothing to flush.
func TestOffByDefault(t *testing.T) {
	p, err := tracing.New(context.Background(), tracing.Options{ServiceName: "control-plane"})
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.Tracer("test").Start(context.Background(), "chat")
	if p.Enabled || span.IsRecording() || span.SpanContext().IsValid() {
		t.Errorf("enabled %v, recording %v, valid span context %v; want a no-op tracer", p.Enabled, span.IsRecording(), span.SpanContext().IsValid())
	}
	span.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// With an endpoint spans are batched to <endpoint>/v1/traces over OTLP/HTTP,
// and Shutdown flushes the ones not yet sent.
func TestExportsToTheEndpointAndFlushesOnShutdown(t *testing.T) {
	var (
		mu     sync.Mutex
		posts  []string
		bodies [][]byte
	)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		bodies = append(bodies, b)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()
	p, err := tracing.New(context.Background(), tracing.Options{Endpoint: collector.URL + "/", ServiceName: "cp-test", Version: "v9"})
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.Tracer("test").Start(context.Background(), "chat fake-mini")
	if !p.Enabled || !span.IsRecording() {
		t.Fatalf("enabled %v, recording %v; want an SDK tracer", p.Enabled, span.IsRecording())
	}
	span.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 1 || posts[0] != "POST /v1/traces application/x-protobuf" {
		t.Fatalf("collector got %v; want one OTLP/HTTP export", posts)
	}
	for _, want := range []string{"chat fake-mini", "cp-test", "v9"} {
		if !bytes.Contains(bodies[0], []byte(want)) {
			t.Errorf("export does not hold %q", want)
		}
	}
}
