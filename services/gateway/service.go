package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/budget"
	"github.com/golden-architecture/control-plane/services/errs"
)

// Budget is the part of the budget ledger a call needs (budget.Service
// implements it).
type Budget interface {
	Request(ctx context.Context, actor audit.Actor, in budget.RequestInput) (budget.Approval, error)
	Commit(ctx context.Context, actor audit.Actor, in budget.CommitInput) (budget.Settlement, error)
	Release(ctx context.Context, actor audit.Actor, in budget.ReleaseInput) (budget.Settlement, error)
}

var _ Budget = (*budget.Service)(nil)

// Breaker guards the calls to one provider (breaker.Breaker implements it):
// Allow refuses at once while the breaker is open, otherwise done must be
// called once with the call's outcome.
type Breaker interface {
	Allow(ctx context.Context) (done func(err error), err error)
}

// DeadLetters receives the failed calls (the request without secrets and
// why it failed), so operators see them in the DLQ. Optional.
type DeadLetters interface {
	DeadLetter(ctx context.Context, provider string, failed FailedCall) error
}

// FailedCall is what a dead letter of a failed call holds.
type FailedCall struct {
	CallID    string `json:"call_id"`
	TenantID  string `json:"tenant_id"`
	ProjectID string `json:"project_id"`
	Principal string `json:"principal_id"`
	Model     string `json:"model"`
	Provider  string `json:"provider"`
	RequestID string `json:"request_id"`
	Status    int    `json:"upstream_status,omitempty"`
	Error     string `json:"error"`
	// Request is the client's chat completions body: it holds no
	// credential (keys travel in headers, which are not kept).
	Request []byte `json:"request"`
}

// Options configure a Service.
type Options struct {
	// Models is the catalog; Providers the configured providers by name.
	// A model whose provider is not in Providers answers 503 with
	// NotConfigured[provider] as the message.
	Models        []Model
	Providers     map[string]Provider
	NotConfigured map[string]string
	// NoModels is the message of the 503 when Models is empty.
	NoModels string
	// Breakers guard each provider; a provider without one is unguarded.
	Breakers map[string]Breaker
	Budget   Budget
	DB       *gorm.DB
	// Timeout bounds one attempt of a provider call (the whole stream for
	// streams). Default 2 minutes.
	Timeout time.Duration
	// CommitMaxRatio is the budget's cap on a commit (actual ≤ estimate ×
	// ratio); usage above it is committed at the cap and recorded in full.
	CommitMaxRatio float64
	DeadLetters    DeadLetters
	// Tokens enforces API keys' tokens-per-minute limits; nil leaves them
	// unlimited.
	Tokens TokenLimiter
	// AbandonAfter is the reservation's lifetime (BUDGET_RESERVATION_TTL):
	// a call still pending after it was left by a crash (its reservation
	// has expired), and a retry with its idempotency key takes it over.
	// Default one hour.
	AbandonAfter time.Duration
	// EarlyStart lets a call on a budget this process saw with room for it
	// start its provider call beside its reservation instead of after it
	// (headroom); nothing reaches the client before the reservation is
	// stored, and a refused one cancels the provider call.
	EarlyStart bool
	Registerer prometheus.Registerer
	// Tracer records a span per call with children for the budget steps
	// and each provider attempt (nil: a no-op tracer, nothing recorded).
	Tracer trace.Tracer
	// Propagator writes the attempt span's context on the provider
	// request (nil: W3C trace context). With a no-op tracer the caller's
	// traceparent passes through unchanged.
	Propagator propagation.TextMapPropagator
	Log        *slog.Logger
	Now        func() time.Time
}

// Service is the LLM gateway.
type Service struct {
	o       Options
	models  map[string]Model
	metrics *metrics
	// afterAnswer runs the bookkeeping of streams whose answer has ended.
	afterAnswer pending
	// headroom decides which calls start before their reservation is
	// stored (Options.EarlyStart).
	headroom headroom
}

// New returns a gateway; it starts without models or providers (the
// endpoints then answer 503).
func New(o Options) (*Service, error) {
	if o.Budget == nil || o.DB == nil || o.Registerer == nil {
		return nil, errors.New("gateway: budget, database and metrics registerer are required")
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.AbandonAfter <= 0 {
		o.AbandonAfter = time.Hour
	}
	if o.CommitMaxRatio < 1 {
		o.CommitMaxRatio = budget.DefaultCommitMaxRatio
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Tracer == nil {
		o.Tracer = noop.NewTracerProvider().Tracer("")
	}
	if o.Propagator == nil {
		o.Propagator = propagation.TraceContext{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Service{o: o, models: map[string]Model{}, metrics: m}
	for _, mod := range o.Models {
		s.models[mod.Name] = mod
	}
	return s, nil
}

// Wait returns once the bookkeeping of every ended stream is done: its
// commit or release and its call's row, which run beside the answer's end,
// not before it. Shutdown calls it after the HTTP server stopped, before the
// database closes; tests call it before reading what a stream stored.
func (s *Service) Wait() { s.afterAnswer.wait() }

// Models lists the models a call may name: those whose provider is
// configured, sorted by name. With none it is 503 naming what to set.
func (s *Service) Models() ([]Model, error) {
	var out []Model
	for _, m := range s.o.Models {
		if _, ok := s.o.Providers[m.Provider]; ok {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, s.unconfigured()
	}
	slices.SortFunc(out, func(a, b Model) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// unconfigured is the 503 of a gateway with no usable model.
func (s *Service) unconfigured() error {
	if len(s.o.Models) == 0 {
		return errs.New(errs.CodeUnavailable, s.o.NoModels)
	}
	var msgs []string
	for _, p := range []string{ProviderOpenAI, ProviderAnthropic} {
		if _, ok := s.o.Providers[p]; !ok {
			msgs = append(msgs, s.o.NotConfigured[p])
		}
	}
	return errs.New(errs.CodeUnavailable, "no model provider is configured: "+strings.Join(msgs, "; "))
}

// model finds a configured model with a configured provider.
func (s *Service) model(name string) (Model, error) {
	if len(s.o.Models) == 0 {
		return Model{}, errs.New(errs.CodeUnavailable, s.o.NoModels)
	}
	m, ok := s.models[name]
	if !ok {
		return Model{}, errs.Newf(errs.CodeNotFound, "model %q is not configured; GET /api/v1/models lists the models", name).
			WithDetails(map[string]any{"model": name})
	}
	if _, ok := s.o.Providers[m.Provider]; !ok {
		return Model{}, errs.New(errs.CodeUnavailable, s.o.NotConfigured[m.Provider]).
			WithDetails(map[string]any{"model": name, "provider": m.Provider})
	}
	return m, nil
}

// ChatInput is one chat completions call.
type ChatInput struct {
	TenantID  string
	ProjectID string
	// IdempotencyKey makes a retry of a succeeded call return its answer
	// without calling the provider or billing again.
	IdempotencyKey string
	// KeyID is the caller's API key ("" for a user's token) and
	// TokensPerMinute its tokens-per-minute limit (0 for none): a key's
	// calls are refused while their worst case does not fit in what its
	// minute has left.
	KeyID           string
	TokensPerMinute int64
	// Body is the client's OpenAI chat completions request.
	Body []byte
}

// ChatResult is the answer of a non-streaming call, in the OpenAI format.
type ChatResult struct {
	Body []byte
	// Replayed is true when this is the stored answer of an earlier call
	// with the same idempotency key.
	Replayed bool
}

// IsStream reports whether a body asks for a stream, so the handler can
// pick Chat or ChatStream; a body that is not JSON is left to Chat's checks.
func IsStream(body []byte) bool {
	var r struct {
		Stream bool `json:"stream"`
	}
	_ = jsonUnmarshal(body, &r)
	return r.Stream
}

// Chat makes a non-streaming call: reserve the worst case, call the
// provider (retrying once a failure that reached nobody), commit the
// reported usage with its cost or release, and answer in the OpenAI format.
func (s *Service) Chat(ctx context.Context, actor audit.Actor, in ChatInput) (_ ChatResult, err error) {
	ctx, span := s.startCall(ctx, actor)
	defer func() { endSpan(span, err) }()
	c, err := s.parse(in)
	if err != nil {
		return ChatResult{}, err
	}
	traceCall(span, c)
	if c.req.Stream {
		return ChatResult{}, errs.Validation(errs.FieldError{Field: "stream", Message: "a stream is served by ChatStream"})
	}
	started := s.o.Now()
	callCtx, r, replay, err := s.begin(ctx, actor, in, c)
	if replay != nil {
		span.SetAttributes(attribute.Bool(attrReplayed, true))
		return *replay, nil
	}
	if err != nil {
		return ChatResult{}, err
	}
	defer r.cancel(nil)
	var done Completion
	err = s.attempt(callCtx, c, func(ctx context.Context, p Provider, up Upstream) (bool, error) {
		done, err = p.Complete(ctx, up)
		return false, err
	})
	rec, replay, rerr := r.wait()
	switch {
	case replay != nil:
		span.SetAttributes(attribute.Bool(attrReplayed, true))
		return *replay, nil
	case rec == nil: // started early and not reserved: the answer is dropped
		return ChatResult{}, rerr
	case err != nil:
		s.fail(ctx, actor, in, c, rec, err, started)
		return ChatResult{}, publicError(err)
	}
	usage := done.Usage
	if !done.UsageReported {
		usage = Usage{PromptTokens: c.promptEstimate, CompletionTokens: completionEstimate(done.Body), Estimated: true}
	}
	if span.IsRecording() {
		traceUsage(span, responseModel(done.Body), usage)
	}
	body, err := withModel(done.Body, c.model.Name)
	if err != nil {
		body = done.Body
	}
	s.settle(ctx, actor, in, c, rec, usage, body, outcome{status: "ok", started: started})
	return ChatResult{Body: body}, nil
}

// attempt runs one provider call through the provider's breaker, and once
// more when the first failed in a way that counts against the provider and
// nothing reached the client (the call reports whether something did).
func (s *Service) attempt(ctx context.Context, c *call, run func(context.Context, Provider, Upstream) (sent bool, err error)) error {
	body, err := c.upstreamBody()
	if err != nil {
		return fmt.Errorf("gateway: encode upstream body: %w", err)
	}
	p := s.o.Providers[c.model.Provider]
	var last error
	for try := 0; try < 2; try++ {
		// Each attempt is a client span whose context goes upstream.
		actx, span := s.startUpstream(ctx, c, try)
		up := Upstream{Model: c.model, Body: body, Header: http.Header{}}
		s.o.Propagator.Inject(actx, propagation.HeaderCarrier(up.Header))
		sent, err := s.once(actx, c.model.Provider, func(ctx context.Context) (bool, error) { return run(ctx, p, up) })
		endSpan(span, err)
		if err == nil {
			return nil
		}
		last = err
		if sent || !ProviderFailure(err) || ctx.Err() != nil {
			break
		}
	}
	return last
}

// once is one attempt through the breaker with the attempt timeout.
func (s *Service) once(ctx context.Context, provider string, run func(context.Context) (bool, error)) (bool, error) {
	done := func(error) {}
	if b, ok := s.o.Breakers[provider]; ok {
		d, err := b.Allow(ctx)
		if err != nil {
			return false, err
		}
		done = d
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	sent, err := run(ctx)
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		var ue *UpstreamError
		if !errors.As(err, &ue) {
			err = &UpstreamError{Provider: provider, Err: err}
		}
	}
	done(err)
	return sent, err
}

// publicError turns a provider failure into the answer the client gets: a
// provider 429 passes through with its Retry-After; a refused request (4xx)
// is 422 with the provider's message; anything else is 503.
func publicError(err error) error {
	var ue *UpstreamError
	var e *errs.Error
	switch {
	case errors.As(err, &e):
		return err
	case !errors.As(err, &ue):
		return err
	case ue.Status == http.StatusTooManyRequests:
		d := map[string]any{"provider": ue.Provider, "upstream_status": ue.Status}
		if ue.RetryAfter != "" {
			d["retry_after"] = ue.RetryAfter
		}
		return errs.Newf(errs.CodeRateLimited, "the %s provider is rate limiting: %s", ue.Provider, ue.Message).WithDetails(d)
	case ue.Status == http.StatusBadRequest || ue.Status == http.StatusUnprocessableEntity || ue.Status == http.StatusRequestEntityTooLarge:
		return errs.Validation(errs.FieldError{Field: "body", Message: fmt.Sprintf("the %s provider refused the request: %s", ue.Provider, ue.Message)})
	case ue.Status == 0:
		return errs.Wrap(errs.CodeUnavailable, fmt.Sprintf("the %s provider did not answer; retry shortly", ue.Provider), err).
			WithDetails(map[string]any{"provider": ue.Provider})
	}
	return errs.Wrap(errs.CodeUnavailable, fmt.Sprintf("the %s provider failed (%d); retry shortly", ue.Provider, ue.Status), err).
		WithDetails(map[string]any{"provider": ue.Provider, "upstream_status": ue.Status})
}

// RetryAfter is the provider's Retry-After of a passed-through 429, "" if
// none, for the handler's header.
func RetryAfter(err error) string {
	var e *errs.Error
	if errors.As(err, &e) && e.Code == errs.CodeRateLimited {
		if v, ok := e.Details["retry_after"].(string); ok {
			return v
		}
	}
	return ""
}
