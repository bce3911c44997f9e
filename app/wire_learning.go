package app

import (
	"fmt"

	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/learning"
	"github.com/golden-architecture/control-plane/services/llmcheck"
)

// wireLearning builds the learning service and serves /api/v1/prompts and
// /api/v1/learning, each in the tenant the caller may act in.
func (a *App) wireLearning(deps *handlers.Deps) error {
	checker, err := llmcheck.New()
	if err != nil {
		return fmt.Errorf("llm answer schemas: %w", err)
	}
	svc, err := learning.New(a.db.DB, audit.New(a.db.DB), learning.Options{Tenants: a.tenants, Checker: checker, Registerer: a.registry})
	if err != nil {
		return fmt.Errorf("learning: %w", err)
	}
	deps.Resources = append(deps.Resources, &handlers.Learning{Service: svc, Tenants: a.tenants})
	return nil
}
