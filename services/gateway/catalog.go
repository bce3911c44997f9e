package gateway

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
)

// Provider names a model may use.
const (
	ProviderOpenAI    = "openai"
	ProviderAnthropic = "anthropic"
)

// Model is one configured model: the name clients send, where it runs and
// what it costs. Prices are US dollars per million tokens.
type Model struct {
	Name                  string  `json:"name" yaml:"name"`
	Provider              string  `json:"provider" yaml:"provider"`
	UpstreamModel         string  `json:"upstream_model" yaml:"upstream_model"`
	InputPricePerMillion  float64 `json:"input_price_per_million" yaml:"input_price_per_million"`
	OutputPricePerMillion float64 `json:"output_price_per_million" yaml:"output_price_per_million"`
	ContextWindow         int64   `json:"context_window" yaml:"context_window"`
	DefaultMaxTokens      int64   `json:"default_max_tokens" yaml:"default_max_tokens"`
}

// Cost is what prompt and completion tokens cost on this model, in dollars.
func (m Model) Cost(prompt, completion int64) float64 {
	return (float64(prompt)*m.InputPricePerMillion + float64(completion)*m.OutputPricePerMillion) / 1e6
}

// modelName is the rule for public model names: what an OpenAI client may
// send and a metric label may carry.
var modelName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$`)

// ParseModels reads a model list: YAML or JSON (JSON is YAML), either a list
// of models or an object with a "models" list. Every entry is checked, and
// the error names each bad one.
func ParseModels(data []byte) ([]Model, error) {
	var models []Model
	trimmed := strings.TrimSpace(string(data))
	if trimmed == "" {
		return nil, nil
	}
	var doc struct {
		Models []Model `json:"models" yaml:"models"`
	}
	if strings.HasPrefix(trimmed, "[") || strings.HasPrefix(trimmed, "-") {
		if err := yaml.UnmarshalWithOptions([]byte(trimmed), &models, yaml.Strict()); err != nil {
			return nil, fmt.Errorf("not a model list: %w", err)
		}
	} else {
		if err := yaml.UnmarshalWithOptions([]byte(trimmed), &doc, yaml.Strict()); err != nil {
			return nil, fmt.Errorf("not a model list: %w", err)
		}
		models = doc.Models
	}
	var problems []error
	seen := map[string]bool{}
	for i := range models {
		m := &models[i]
		if m.UpstreamModel == "" {
			m.UpstreamModel = m.Name
		}
		if err := m.validate(); err != nil {
			problems = append(problems, fmt.Errorf("model %d (%q): %w", i+1, m.Name, err))
		}
		if seen[m.Name] {
			problems = append(problems, fmt.Errorf("model %d: the name %q is used twice", i+1, m.Name))
		}
		seen[m.Name] = true
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return models, nil
}

func (m Model) validate() error {
	var problems []string
	if !modelName.MatchString(m.Name) {
		problems = append(problems, "name must be 1 to 128 letters, digits and . _ : / -, starting with a letter or digit")
	}
	if !slices.Contains([]string{ProviderOpenAI, ProviderAnthropic}, m.Provider) {
		problems = append(problems, fmt.Sprintf("provider %q is not %s or %s", m.Provider, ProviderOpenAI, ProviderAnthropic))
	}
	if m.InputPricePerMillion < 0 || m.OutputPricePerMillion < 0 {
		problems = append(problems, "prices must not be negative")
	}
	if m.ContextWindow < 1 || m.ContextWindow > maxTokens {
		problems = append(problems, fmt.Sprintf("context_window must be from 1 to %d", maxTokens))
	}
	if m.DefaultMaxTokens < 1 || m.DefaultMaxTokens > m.ContextWindow {
		problems = append(problems, "default_max_tokens must be from 1 to context_window")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// maxTokens bounds a context window (the budget's bound of one call).
const maxTokens = 1_000_000_000
