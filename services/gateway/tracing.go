package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/errs"
)

// Span names of a call: the call ("chat <model>", the GenAI convention's
// "{operation} {model}"), its upstream attempts ("chat <upstream model>")
// and the budget steps.
const (
	spanOperation = "chat"
	SpanReserve   = "gateway.budget.reserve"
	SpanSettle    = "gateway.budget.settle"
	SpanRelease   = "gateway.budget.release"
)

// Attributes of the spans: the OpenTelemetry GenAI semantic conventions, and
// the request id under which the call is logged and stored.
const (
	attrOperation      = "gen_ai.operation.name"
	attrProvider       = "gen_ai.provider.name"
	attrSystem         = "gen_ai.system" // the conventions' older name of the provider
	attrRequestModel   = "gen_ai.request.model"
	attrRequestMax     = "gen_ai.request.max_tokens"
	attrResponseModel  = "gen_ai.response.model"
	attrUsageInput     = "gen_ai.usage.input_tokens"
	attrUsageOutput    = "gen_ai.usage.output_tokens"
	attrErrorType      = "error.type"
	attrRequestID      = "request.id"
	attrStream         = "gateway.stream"
	attrReplayed       = "gateway.replayed"
	attrAttempt        = "gateway.attempt"
	attrUsageEstimated = "gateway.usage_estimated"
	attrCallID         = "gateway.call_id"
)

// startCall starts the span of one gateway call, a child of the caller's
// trace when the request carried one.
func (s *Service) startCall(ctx context.Context, actor audit.Actor) (context.Context, trace.Span) {
	return s.o.Tracer.Start(ctx, spanOperation, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String(attrOperation, spanOperation), attribute.String(attrRequestID, actor.RequestID)))
}

// traceCall names the call's span after its model and records the request.
func traceCall(span trace.Span, c *call) {
	if !span.IsRecording() {
		return
	}
	span.SetName(spanOperation + " " + c.model.Name)
	span.SetAttributes(
		attribute.String(attrProvider, c.model.Provider), attribute.String(attrSystem, c.model.Provider),
		attribute.String(attrRequestModel, c.model.Name), attribute.Int64(attrRequestMax, c.maxTokens),
		attribute.Bool(attrStream, c.req.Stream))
}

// traceUsage records the answer's model and the usage on the call's span.
func traceUsage(span trace.Span, responseModel string, u Usage) {
	if !span.IsRecording() {
		return
	}
	if responseModel != "" {
		span.SetAttributes(attribute.String(attrResponseModel, responseModel))
	}
	span.SetAttributes(attribute.Int64(attrUsageInput, u.PromptTokens), attribute.Int64(attrUsageOutput, u.CompletionTokens),
		attribute.Bool(attrUsageEstimated, u.Estimated))
}

// startUpstream starts the client span of one provider attempt.
func (s *Service) startUpstream(ctx context.Context, c *call, try int) (context.Context, trace.Span) {
	return s.o.Tracer.Start(ctx, spanOperation+" "+c.model.UpstreamModel, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String(attrOperation, spanOperation), attribute.String(attrProvider, c.model.Provider),
		attribute.String(attrSystem, c.model.Provider), attribute.String(attrRequestModel, c.model.UpstreamModel),
		attribute.Int64(attrRequestMax, c.maxTokens), attribute.Int(attrAttempt, try+1)))
}

// startStep starts the span of a budget step.
func (s *Service) startStep(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return s.o.Tracer.Start(ctx, name, trace.WithAttributes(attrs...))
}

// endSpan ends a span, marking it failed with err's type when err is set.
func endSpan(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.SetStatus(codes.Error, err.Error())
		span.SetAttributes(attribute.String(attrErrorType, errorType(err)))
	}
	span.End()
}

// errorType is the error.type of a failure: the error code the client gets,
// the provider's status, or why no answer came.
func errorType(err error) string {
	var e *errs.Error
	var ue *UpstreamError
	switch {
	case errors.As(err, &e):
		return string(e.Code)
	case errors.As(err, &ue) && ue.Status != 0:
		return fmt.Sprintf("upstream_%d", ue.Status)
	case errors.As(err, &ue):
		return "upstream_no_answer"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "_OTHER"
}

// responseModel is the "model" of a provider's answer (before the gateway
// puts the client's name back).
func responseModel(body []byte) string {
	var r struct {
		Model string `json:"model"`
	}
	_ = json.Unmarshal(body, &r)
	return r.Model
}
