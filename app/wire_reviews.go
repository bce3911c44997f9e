package app

import (
	"fmt"

	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/llmcheck"
	"github.com/golden-architecture/control-plane/services/review"
	"github.com/golden-architecture/control-plane/services/work"
)

// wireReviews builds the peer review service, which escalates a failed
// review's task through the work service, and serves /api/v1/reviews.
func (a *App) wireReviews(deps *handlers.Deps, escalations *work.Service) error {
	checker, err := llmcheck.New()
	if err != nil {
		return fmt.Errorf("llm answer schemas: %w", err)
	}
	svc, err := review.New(a.db.DB, audit.New(a.db.DB), review.Options{Checker: checker, Escalations: escalations, Registerer: a.registry})
	if err != nil {
		return fmt.Errorf("reviews: %w", err)
	}
	deps.Resources = append(deps.Resources, &handlers.Reviews{Service: svc, Tenants: a.tenants})
	return nil
}
