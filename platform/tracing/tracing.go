// Package tracing builds the OpenTelemetry tracer provider: a no-op one
// (nothing recorded, nothing exported) unless an OTLP endpoint is set, then
// an SDK provider batching spans to that endpoint over OTLP/HTTP.
package tracing

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Options configure the provider.
type Options struct {
	// Endpoint is OTEL_EXPORTER_OTLP_ENDPOINT: the collector's OTLP/HTTP
	// base URL; spans go to <Endpoint>/v1/traces. Empty: tracing is off.
	Endpoint string
	// ServiceName is the resource's service.name.
	ServiceName string
	// Version is the resource's service.version.
	Version string
}

// Provider is a tracer provider and how to stop it.
type Provider struct {
	trace.TracerProvider
	// Enabled is false for the no-op provider.
	Enabled  bool
	shutdown func(context.Context) error
}

// Shutdown flushes the spans not yet exported and stops the exporter; a
// no-op for the no-op provider.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil || p.shutdown == nil {
		return nil
	}
	return p.shutdown(ctx)
}

// Propagator is the W3C trace context (traceparent, tracestate): read from
// the client's request, written on the provider's.
func Propagator() propagation.TextMapPropagator { return propagation.TraceContext{} }

// New returns the no-op provider when o.Endpoint is empty, else an SDK
// provider exporting over OTLP/HTTP. The exporter's other settings (headers,
// timeout, compression) come from the standard OTEL_EXPORTER_OTLP_* variables.
func New(ctx context.Context, o Options) (*Provider, error) {
	if o.Endpoint == "" {
		return &Provider{TracerProvider: noop.NewTracerProvider()}, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(strings.TrimRight(o.Endpoint, "/")+"/v1/traces"))
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", o.ServiceName), attribute.String("service.version", o.Version)))
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Provider{TracerProvider: tp, Enabled: true, shutdown: tp.Shutdown}, nil
}
