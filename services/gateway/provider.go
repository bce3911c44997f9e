package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
)

// Usage is what a call consumed, as the provider reported it (or as the
// gateway estimated it when the provider reported nothing).
type Usage struct {
	PromptTokens     int64
	CompletionTokens int64
	// Estimated is true when the provider reported no usage.
	Estimated bool
}

// Total is prompt plus completion tokens.
func (u Usage) Total() int64 { return u.PromptTokens + u.CompletionTokens }

// Upstream is one request to a provider, in the OpenAI format.
type Upstream struct {
	// Model is the configured model; Model.UpstreamModel is sent.
	Model Model
	// Body is the OpenAI chat completions body to send.
	Body []byte
	// Header carries what is propagated upstream (traceparent).
	Header http.Header
}

// Completion is a provider's answer to a non-streaming call, in the OpenAI
// format.
type Completion struct {
	Body  []byte
	Usage Usage
	// UsageReported is false when the answer carried no usage.
	UsageReported bool
}

// Provider calls one kind of model API. Answers and streams come back in the
// OpenAI format whatever the provider speaks.
type Provider interface {
	// Complete makes a non-streaming call.
	Complete(ctx context.Context, req Upstream) (Completion, error)
	// Stream makes a streaming call. It calls emit with each chunk's JSON
	// (an OpenAI chat.completion.chunk) as it arrives, and returns the usage
	// the provider reported (Usage.Estimated false) if it did. A non-nil error
	// from emit stops the call and is returned.
	Stream(ctx context.Context, req Upstream, emit func(chunk []byte) error) (Usage, bool, error)
}

// checker is a Provider that refuses some requests before the call (one
// whose translation cannot carry them): Check runs before the reservation.
type checker interface {
	Check(m Model, body []byte) error
}

// UpstreamError is a provider's refusal or failure. Status is the provider's
// HTTP status, 0 when no answer came (network error or timeout).
type UpstreamError struct {
	Provider   string
	Status     int
	RetryAfter string
	Message    string
	Err        error
}

func (e *UpstreamError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("%s: no answer: %v", e.Provider, e.Err)
	}
	return fmt.Sprintf("%s answered %d: %s", e.Provider, e.Status, e.Message)
}

func (e *UpstreamError) Unwrap() error { return e.Err }

// ProviderFailure is the breaker classifier of a provider: a 5xx, a timeout
// or a broken connection count against it; a 429, a refused request (4xx)
// or a caller that went away do not.
func ProviderFailure(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ue *UpstreamError
	if errors.As(err, &ue) {
		if ue.Status == 0 {
			return !errors.Is(ue.Err, context.Canceled)
		}
		return ue.Status >= 500
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}
