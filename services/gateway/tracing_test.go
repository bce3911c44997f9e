package gateway_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/internal/dbtest"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/budget"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/gateway"
)

// The client's traceparent in these tests.
const (
	clientTrace       = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpan        = "00f067aa0ba902b7"
	clientTraceparent = "00-" + clientTrace + "-" + clientSpan + "-01"
)

// fakeBudget approves every reservation and counts the steps; the callers'
// Rows and Also hooks are stored in db, as the budget service stores them.
type fakeBudget struct {
	db                         *gorm.DB
	mu                         sync.Mutex
	requests, commits, release int
}

func (b *fakeBudget) Request(_ context.Context, _ audit.Actor, in budget.RequestInput) (budget.Approval, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests++
	a := budget.Approval{ReservationID: uuid.NewString()}
	if in.Row != nil {
		return a, b.db.Create(in.Row(a.ReservationID)).Error
	}
	return a, nil
}

func (b *fakeBudget) Commit(_ context.Context, _ audit.Actor, in budget.CommitInput) (budget.Settlement, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.commits++
	if in.Also != nil {
		return budget.Settlement{}, b.db.Transaction(in.Also)
	}
	return budget.Settlement{}, nil
}

func (b *fakeBudget) Release(context.Context, audit.Actor, budget.ReleaseInput) (budget.Settlement, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.release++
	return budget.Settlement{}, nil
}

// fakeProvider answers (or fails with fail) and keeps the headers it got.
type fakeProvider struct {
	fail    error
	headers []http.Header
}

func (p *fakeProvider) Complete(_ context.Context, req gateway.Upstream) (gateway.Completion, error) {
	p.headers = append(p.headers, req.Header.Clone())
	if p.fail != nil {
		return gateway.Completion{}, p.fail
	}
	return gateway.Completion{
		Body:  []byte(`{"id":"c1","object":"chat.completion","model":"fake-upstream-2026","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":7,"total_tokens":17}}`),
		Usage: gateway.Usage{PromptTokens: 10, CompletionTokens: 7}, UsageReported: true,
	}, nil
}

func (p *fakeProvider) Stream(_ context.Context, req gateway.Upstream, emit func([]byte) error) (gateway.Usage, bool, error) {
	p.headers = append(p.headers, req.Header.Clone())
	if err := emit([]byte(`{"id":"c1","object":"chat.completion.chunk","model":"fake-upstream-2026","choices":[{"index":0,"delta":{"content":"hello"}}]}`)); err != nil {
		return gateway.Usage{}, false, err
	}
	return gateway.Usage{PromptTokens: 10, CompletionTokens: 3}, true, nil
}

type chunks struct{ n int }

func (c *chunks) Chunk([]byte) error { c.n++; return nil }
func (c *chunks) Done() error        { return nil }

type tracedGateway struct {
	svc      *gateway.Service
	provider *fakeProvider
	budget   *fakeBudget
	spans    *tracetest.SpanRecorder
	dbt      func(t *testing.T) []models.LLMCall
}

// newTraced is a gateway on a fake provider and budget; with record its
// spans go to an in-memory recorder, else it gets no tracer at all.
func newTraced(t *testing.T, record bool, fail error) *tracedGateway {
	t.Helper()
	db := dbtest.New(t)
	g := &tracedGateway{provider: &fakeProvider{fail: fail}, budget: &fakeBudget{db: db.DB}}
	o := gateway.Options{
		Models:    []gateway.Model{{Name: "fake-mini", Provider: gateway.ProviderOpenAI, UpstreamModel: "fake-upstream", ContextWindow: 1000, DefaultMaxTokens: 100}},
		Providers: map[string]gateway.Provider{gateway.ProviderOpenAI: g.provider},
		Budget:    g.budget, DB: db.DB, Registerer: prometheus.NewRegistry(),
	}
	if record {
		g.spans = tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(g.spans))
		t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		o.Tracer = tp.Tracer("test")
	}
	svc, err := gateway.New(o)
	if err != nil {
		t.Fatal(err)
	}
	g.svc = svc
	g.dbt = func(t *testing.T) []models.LLMCall {
		t.Helper()
		var rows []models.LLMCall
		if err := db.DB.Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		return rows
	}
	return g
}

// clientContext is a request context carrying the client's traceparent, as
// middleware.TraceContext leaves it.
func clientContext() context.Context {
	h := http.Header{}
	h.Set("Traceparent", clientTraceparent)
	return propagation.TraceContext{}.Extract(context.Background(), propagation.HeaderCarrier(h))
}

var actor = audit.Actor{PrincipalID: "user:1", RequestID: "req-42"}

func body(stream bool) []byte {
	if stream {
		return []byte(`{"model":"fake-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":50,"stream":true}`)
	}
	return []byte(`{"model":"fake-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":50}`)
}

// byName indexes the ended spans; a name seen twice keeps every span.
func byName(spans []sdktrace.ReadOnlySpan) map[string][]sdktrace.ReadOnlySpan {
	out := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		out[s.Name()] = append(out[s.Name()], s)
	}
	return out
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	out := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		out[kv.Key] = kv.Value
	}
	return out
}

func wantAttrs(t *testing.T, s sdktrace.ReadOnlySpan, want map[string]any) {
	t.Helper()
	got := attrs(s)
	for k, v := range want {
		if g, ok := got[attribute.Key(k)]; !ok || g.AsInterface() != v {
			t.Errorf("span %q: %s = %v (present %v), want %v", s.Name(), k, g.AsInterface(), ok, v)
		}
	}
}

// A call is a server span "chat <model>" continuing the client's trace, with
// the GenAI attributes and the request id; the reservation, the upstream
// attempt and the settlement are its children; the traceparent sent upstream
// names the attempt's span.
func TestTracingChatSpans(t *testing.T) {
	g := newTraced(t, true, nil)
	if _, err := g.svc.Chat(clientContext(), actor, gateway.ChatInput{TenantID: "default", ProjectID: "p", Body: body(false)}); err != nil {
		t.Fatal(err)
	}
	spans := byName(g.spans.Ended())
	if len(g.spans.Ended()) != 4 {
		t.Fatalf("spans = %v; want the call, reserve, upstream and settle", spans)
	}
	callSpan, reserve, upstream, settle := spans["chat fake-mini"], spans[gateway.SpanReserve], spans["chat fake-upstream"], spans[gateway.SpanSettle]
	if len(callSpan) != 1 || len(reserve) != 1 || len(upstream) != 1 || len(settle) != 1 {
		t.Fatalf("spans = %v", spans)
	}
	cs := callSpan[0]
	if cs.SpanContext().TraceID().String() != clientTrace || cs.Parent().SpanID().String() != clientSpan || !cs.Parent().IsRemote() {
		t.Errorf("call span trace %s parent %s (remote %v); want the client's trace and span",
			cs.SpanContext().TraceID(), cs.Parent().SpanID(), cs.Parent().IsRemote())
	}
	if cs.SpanKind() != trace.SpanKindServer || cs.Status().Code != codes.Unset {
		t.Errorf("call span kind %v status %v", cs.SpanKind(), cs.Status())
	}
	wantAttrs(t, cs, map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.system": "openai",
		"gen_ai.request.model": "fake-mini", "gen_ai.request.max_tokens": int64(50),
		"gen_ai.response.model": "fake-upstream-2026", "gen_ai.usage.input_tokens": int64(10),
		"gen_ai.usage.output_tokens": int64(7), "request.id": "req-42", "gateway.stream": false,
	})
	for _, child := range []sdktrace.ReadOnlySpan{reserve[0], upstream[0], settle[0]} {
		if child.Parent().SpanID() != cs.SpanContext().SpanID() || child.SpanContext().TraceID() != cs.SpanContext().TraceID() {
			t.Errorf("span %q parent %s; want the call span %s", child.Name(), child.Parent().SpanID(), cs.SpanContext().SpanID())
		}
	}
	up := upstream[0]
	if up.SpanKind() != trace.SpanKindClient {
		t.Errorf("upstream span kind %v, want client", up.SpanKind())
	}
	wantAttrs(t, up, map[string]any{"gen_ai.request.model": "fake-upstream", "gen_ai.provider.name": "openai", "gateway.attempt": int64(1)})
	if len(g.provider.headers) != 1 {
		t.Fatalf("provider calls = %d", len(g.provider.headers))
	}
	want := "00-" + clientTrace + "-" + up.SpanContext().SpanID().String() + "-01"
	if got := g.provider.headers[0].Get("Traceparent"); got != want {
		t.Errorf("upstream traceparent = %q, want %q (the attempt's span)", got, want)
	}
	// The tracing did not change the bookkeeping.
	rows := g.dbt(t)
	if len(rows) != 1 || rows[0].Status != "succeeded" || rows[0].PromptTokens != 10 || rows[0].CompletionTokens != 7 || rows[0].RequestID != "req-42" {
		t.Errorf("llm_calls = %+v", rows)
	}
	if g.budget.requests != 1 || g.budget.commits != 1 || g.budget.release != 0 {
		t.Errorf("budget steps = %+v", g.budget)
	}
}

// A provider failing twice: both attempts are failed client spans, the
// reservation's release is a child span, and the call span carries the
// error code the client got.
func TestTracingFailedCall(t *testing.T) {
	g := newTraced(t, true, &gateway.UpstreamError{Provider: "openai", Status: 502, Message: "bad gateway"})
	_, err := g.svc.Chat(clientContext(), actor, gateway.ChatInput{TenantID: "default", ProjectID: "p", Body: body(false)})
	if !errs.Is(err, errs.CodeUnavailable) {
		t.Fatalf("err = %v, want unavailable", err)
	}
	spans := byName(g.spans.Ended())
	ups := spans["chat fake-upstream"]
	if len(ups) != 2 || len(spans[gateway.SpanRelease]) != 1 || len(spans[gateway.SpanSettle]) != 0 {
		t.Fatalf("spans = %v; want two attempts and a release", spans)
	}
	for i, up := range ups {
		if up.Status().Code != codes.Error {
			t.Errorf("attempt %d status %v, want error", i+1, up.Status())
		}
		wantAttrs(t, up, map[string]any{"error.type": "upstream_502", "gateway.attempt": int64(i + 1)})
	}
	if g.provider.headers[0].Get("Traceparent") == g.provider.headers[1].Get("Traceparent") {
		t.Errorf("both attempts sent traceparent %q; want each its own span", g.provider.headers[0].Get("Traceparent"))
	}
	cs := spans["chat fake-mini"][0]
	if cs.Status().Code != codes.Error {
		t.Errorf("call span status %v, want error", cs.Status())
	}
	wantAttrs(t, cs, map[string]any{"error.type": string(errs.CodeUnavailable), "request.id": "req-42"})
	if rows := g.dbt(t); len(rows) != 1 || rows[0].Status != "failed" {
		t.Errorf("llm_calls = %+v", rows)
	}
	if g.budget.release != 1 || g.budget.commits != 0 {
		t.Errorf("budget steps = %+v", g.budget)
	}
}

// A stream's span carries the usage the provider reported at its end.
func TestTracingStreamSpan(t *testing.T) {
	g := newTraced(t, true, nil)
	w := &chunks{}
	if err := g.svc.ChatStream(clientContext(), actor, gateway.ChatInput{TenantID: "default", ProjectID: "p", Body: body(true)}, w); err != nil {
		t.Fatal(err)
	}
	cs := byName(g.spans.Ended())["chat fake-mini"]
	if len(cs) != 1 || w.n != 1 {
		t.Fatalf("call spans %d, chunks %d", len(cs), w.n)
	}
	wantAttrs(t, cs[0], map[string]any{"gateway.stream": true, "gen_ai.response.model": "fake-upstream-2026",
		"gen_ai.usage.input_tokens": int64(10), "gen_ai.usage.output_tokens": int64(3)})
	// The commit runs after the answer ended, as a child of the call's span.
	g.svc.Wait()
	settle := byName(g.spans.Ended())[gateway.SpanSettle]
	if len(settle) != 1 || settle[0].Parent().SpanID() != cs[0].SpanContext().SpanID() || g.budget.commits != 1 {
		t.Fatalf("settle spans %d, commits %d; want one settle span under the call's", len(settle), g.budget.commits)
	}
	if rows := g.dbt(t); len(rows) != 1 || rows[0].Status != "succeeded" || rows[0].CompletionTokens != 3 {
		t.Errorf("llm_calls = %+v", rows)
	}
}

// Without a tracer nothing is recorded and the client's traceparent goes
// upstream unchanged.
func TestTracingOffPassesTheClientsTraceparent(t *testing.T) {
	g := newTraced(t, false, nil)
	if _, err := g.svc.Chat(clientContext(), actor, gateway.ChatInput{TenantID: "default", ProjectID: "p", Body: body(false)}); err != nil {
		t.Fatal(err)
	}
	if got := g.provider.headers[0].Get("Traceparent"); got != clientTraceparent {
		t.Errorf("upstream traceparent = %q, want the client's %q", got, clientTraceparent)
	}
	// And with no trace at all, none is invented.
	if _, err := g.svc.Chat(context.Background(), actor, gateway.ChatInput{TenantID: "default", ProjectID: "p", Body: body(false)}); err != nil {
		t.Fatal(err)
	}
	if got := g.provider.headers[1].Get("Traceparent"); got != "" {
		t.Errorf("upstream traceparent = %q without tracing or a client trace; want none", got)
	}
}
