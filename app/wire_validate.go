package app

import (
	"fmt"

	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/services/llmcheck"
)

// wireValidate adds the LLM answer validation endpoints.
func (a *App) wireValidate(deps *handlers.Deps) error {
	checker, err := llmcheck.New()
	if err != nil {
		return fmt.Errorf("llm answer schemas: %w", err)
	}
	deps.Resources = append(deps.Resources, &handlers.Validate{Checker: checker})
	return nil
}
