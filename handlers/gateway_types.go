package handlers

import "github.com/golden-architecture/control-plane/services/gateway"

// ModelList is GET /models: the OpenAI list of models.
type ModelList struct {
	Object string      `json:"object" enums:"list" example:"list"`
	Data   []ModelInfo `json:"data"`
} // @name ModelList

// ModelInfo is one model in the OpenAI format, with its price and limits.
type ModelInfo struct {
	// ID is the name a call sends as model.
	ID      string `json:"id" example:"gpt-4o-mini"`
	Object  string `json:"object" enums:"model" example:"model"`
	Created int64  `json:"created" example:"0"`
	// OwnedBy is the provider.
	OwnedBy               string  `json:"owned_by" enums:"openai,anthropic" example:"openai"`
	InputPricePerMillion  float64 `json:"input_price_per_million" example:"0.15"`
	OutputPricePerMillion float64 `json:"output_price_per_million" example:"0.6"`
	ContextWindow         int64   `json:"context_window" example:"128000"`
	DefaultMaxTokens      int64   `json:"default_max_tokens" example:"4096"`
} // @name ModelInfo

func modelInfo(m gateway.Model) ModelInfo {
	return ModelInfo{
		ID: m.Name, Object: "model", OwnedBy: m.Provider,
		InputPricePerMillion: m.InputPricePerMillion, OutputPricePerMillion: m.OutputPricePerMillion,
		ContextWindow: m.ContextWindow, DefaultMaxTokens: m.DefaultMaxTokens,
	}
}

// ChatCompletionRequest documents the OpenAI chat completions request; the
// gateway reads model, messages, max_tokens, max_completion_tokens, stream
// and stream_options and forwards every other field to the provider as sent.
type ChatCompletionRequest struct {
	Model    string        `json:"model" example:"gpt-4o-mini"`
	Messages []ChatMessage `json:"messages"`
	// MaxTokens caps the completion (default: the model's default_max_tokens).
	MaxTokens           int64 `json:"max_tokens,omitempty" example:"256"`
	MaxCompletionTokens int64 `json:"max_completion_tokens,omitempty" example:"256"`
	Stream              bool  `json:"stream,omitempty"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage,omitempty"`
	} `json:"stream_options,omitempty"`
	Temperature float64 `json:"temperature,omitempty" example:"0.2"`
} // @name ChatCompletionRequest

// ChatMessage is one message of a conversation.
type ChatMessage struct {
	Role string `json:"role" example:"user"`
	// Content is a string or a list of content parts.
	Content any `json:"content" swaggertype:"string" example:"Say hello"`
} // @name ChatMessage

// ChatCompletion is the OpenAI chat.completion answer (as the provider sent
// it, model renamed to the name the client sent).
type ChatCompletion struct {
	ID      string         `json:"id" example:"chatcmpl-123"`
	Object  string         `json:"object" example:"chat.completion"`
	Created int64          `json:"created" example:"1767225600"`
	Model   string         `json:"model" example:"gpt-4o-mini"`
	Choices []ChatChoice   `json:"choices"`
	Usage   *ChatUsageInfo `json:"usage,omitempty"`
} // @name ChatCompletion

// ChatChoice is one choice of an answer.
type ChatChoice struct {
	Index        int         `json:"index" example:"0"`
	Message      ChatMessage `json:"message"`
	FinishReason string      `json:"finish_reason" example:"stop"`
} // @name ChatChoice

// ChatUsageInfo is the usage the provider reported.
type ChatUsageInfo struct {
	PromptTokens     int64 `json:"prompt_tokens" example:"12"`
	CompletionTokens int64 `json:"completion_tokens" example:"5"`
	TotalTokens      int64 `json:"total_tokens" example:"17"`
} // @name ChatUsage

// UsageReport is GET /usage: tokens and cost in total, by model, by project.
type UsageReport struct {
	Total     UsageTotals    `json:"total"`
	ByModel   []ModelUsage   `json:"by_model"`
	ByProject []ProjectUsage `json:"by_project"`
} // @name UsageReport

// UsageTotals are the sums of a set of calls.
type UsageTotals struct {
	Calls            int64   `json:"calls" example:"42"`
	PromptTokens     int64   `json:"prompt_tokens" example:"12000"`
	CompletionTokens int64   `json:"completion_tokens" example:"3400"`
	TotalTokens      int64   `json:"total_tokens" example:"15400"`
	CostUSD          float64 `json:"cost_usd" example:"0.00384"`
} // @name UsageTotals

// ModelUsage is one model's sums.
type ModelUsage struct {
	Model            string  `json:"model" example:"gpt-4o-mini"`
	Calls            int64   `json:"calls" example:"42"`
	PromptTokens     int64   `json:"prompt_tokens" example:"12000"`
	CompletionTokens int64   `json:"completion_tokens" example:"3400"`
	TotalTokens      int64   `json:"total_tokens" example:"15400"`
	CostUSD          float64 `json:"cost_usd" example:"0.00384"`
} // @name ModelUsage

// ProjectUsage is one project's sums.
type ProjectUsage struct {
	ProjectID        string  `json:"project_id" example:"support-bot"`
	Calls            int64   `json:"calls" example:"42"`
	PromptTokens     int64   `json:"prompt_tokens" example:"12000"`
	CompletionTokens int64   `json:"completion_tokens" example:"3400"`
	TotalTokens      int64   `json:"total_tokens" example:"15400"`
	CostUSD          float64 `json:"cost_usd" example:"0.00384"`
} // @name ProjectUsage

func usageReport(r gateway.UsageReport) UsageReport {
	out := UsageReport{
		Total:     UsageTotals{Calls: r.Total.Calls, PromptTokens: r.Total.PromptTokens, CompletionTokens: r.Total.CompletionTokens, TotalTokens: r.Total.PromptTokens + r.Total.CompletionTokens, CostUSD: r.Total.CostUSD},
		ByModel:   make([]ModelUsage, len(r.ByModel)),
		ByProject: make([]ProjectUsage, len(r.ByProject)),
	}
	for i, l := range r.ByModel {
		out.ByModel[i] = ModelUsage{Model: l.Name, Calls: l.Calls, PromptTokens: l.PromptTokens, CompletionTokens: l.CompletionTokens, TotalTokens: l.PromptTokens + l.CompletionTokens, CostUSD: l.CostUSD}
	}
	for i, l := range r.ByProject {
		out.ByProject[i] = ProjectUsage{ProjectID: l.Name, Calls: l.Calls, PromptTokens: l.PromptTokens, CompletionTokens: l.CompletionTokens, TotalTokens: l.PromptTokens + l.CompletionTokens, CostUSD: l.CostUSD}
	}
	return out
}
