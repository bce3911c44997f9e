package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/platform/tracing"
	"github.com/golden-architecture/control-plane/services/budget"
	"github.com/golden-architecture/control-plane/services/dlq"
	"github.com/golden-architecture/control-plane/services/gateway"
)

// Breaker names of the gateway's providers (GET /circuit-breakers).
const (
	breakerOpenAI    = "llm-openai"
	breakerAnthropic = "llm-anthropic"
)

// wireGateway builds the LLM gateway on the budget ledger: the models of
// LLM_MODELS(_FILE), a provider per configured key or base URL with its
// breaker, failed calls dead-lettered under DLQ_SUBJECT_PREFIX.llm.
func (a *App) wireGateway(deps *handlers.Deps, ledger *budget.Service) error {
	models, err := gateway.ParseModels([]byte(a.cfg.LLMModels))
	if err != nil {
		return fmt.Errorf("LLM_MODELS (or LLM_MODELS_FILE): %w", err)
	}
	client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	providers := map[string]gateway.Provider{}
	breakers := map[string]gateway.Breaker{}
	if a.cfg.OpenAIAPIKey != "" || a.cfg.OpenAIBaseURL != config.DefaultOpenAIBaseURL {
		providers[gateway.ProviderOpenAI] = &gateway.OpenAI{BaseURL: a.cfg.OpenAIBaseURL, APIKey: a.cfg.OpenAIAPIKey, Client: client}
	}
	if a.cfg.AnthropicAPIKey != "" {
		providers[gateway.ProviderAnthropic] = gateway.NewAnthropic(a.cfg.AnthropicBaseURL, a.cfg.AnthropicAPIKey, client)
	}
	for name, breaker := range map[string]string{gateway.ProviderOpenAI: breakerOpenAI, gateway.ProviderAnthropic: breakerAnthropic} {
		if _, ok := providers[name]; !ok {
			continue
		}
		b, err := a.breakers.Add(breaker, gateway.ProviderFailure)
		if err != nil {
			return err
		}
		breakers[name] = b
	}
	o := gateway.Options{
		Models:    models,
		Providers: providers,
		NotConfigured: map[string]string{
			gateway.ProviderOpenAI:    "the openai provider is not configured: set OPENAI_API_KEY (or OPENAI_API_KEY_FILE), or OPENAI_BASE_URL for an OpenAI-compatible server",
			gateway.ProviderAnthropic: "the anthropic provider is not configured: set ANTHROPIC_API_KEY (or ANTHROPIC_API_KEY_FILE)",
		},
		NoModels:       "no model is configured: set LLM_MODELS_FILE (or LLM_MODELS) and the key of the models' provider (OPENAI_API_KEY or ANTHROPIC_API_KEY)",
		Breakers:       breakers,
		Budget:         ledger,
		DB:             a.db.DB,
		Timeout:        a.cfg.LLMRequestTimeout,
		CommitMaxRatio: a.cfg.BudgetCommitMaxRatio,
		AbandonAfter:   a.cfg.BudgetReservationTTL,
		EarlyStart:     a.cfg.LLMEarlyStart,
		DeadLetters:    &gatewayDeadLetters{prefix: a.cfg.DLQSubjectPrefix, publish: a.guardPublisher(&dlq.NATSPublisher{Conn: a.bus.Conn, JS: a.bus.JS})},
		Registerer:     a.registry,
		Tracer:         a.tracing.Tracer("github.com/golden-architecture/control-plane/services/gateway"),
		Propagator:     tracing.Propagator(),
		Log:            a.log,
	}
	if a.tokenLimits != nil { // a nil *Tokens in the interface would not be nil
		o.Tokens = a.tokenLimits
	}
	svc, err := gateway.New(o)
	if err != nil {
		return fmt.Errorf("LLM gateway: %w", err)
	}
	a.gateway = svc
	deps.Resources = append(deps.Resources, &handlers.Gateway{Service: svc, Tenants: a.tenants, DefaultTenant: a.cfg.DefaultTenant})
	return nil
}

// gatewayDeadLetters publishes a failed call to <prefix>.llm.<provider>,
// where the DLQ stream captures it and GET /dlq shows it.
type gatewayDeadLetters struct {
	prefix  string
	publish dlq.Publisher
}

func (d *gatewayDeadLetters) DeadLetter(ctx context.Context, provider string, f gateway.FailedCall) error {
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	msg := nats.NewMsg(d.prefix + ".llm." + provider)
	msg.Data = data
	msg.Header.Set(dlq.HeaderError, f.Error)
	msg.Header.Set(dlq.HeaderAttempts, "1")
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return d.publish.Publish(ctx, msg, "llm-"+f.CallID)
}
