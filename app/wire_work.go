package app

import (
	"fmt"
	"time"

	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/work"
)

// escalationsRefresh is how often each replica recounts the open
// escalations of every replica for the escalations_open gauge.
const escalationsRefresh = 30 * time.Second

// wireWork builds the work service and serves /api/v1/tasks, /agents and
// /escalations, each in the tenant the caller may act in, and the reviews
// that escalate through it.
func (a *App) wireWork(deps *handlers.Deps) error {
	svc, err := work.New(a.db.DB, audit.New(a.db.DB), work.Options{Tenants: a.tenants, Registerer: a.registry})
	if err != nil {
		return fmt.Errorf("work: %w", err)
	}
	deps.Resources = append(deps.Resources,
		&handlers.Tasks{Service: svc, Tenants: a.tenants},
		&handlers.Agents{Service: svc, Tenants: a.tenants},
		&handlers.Escalations{Service: svc, Tenants: a.tenants},
	)
	a.workers = append(a.workers, svc.Refresher(escalationsRefresh, a.log))
	return a.wireReviews(deps, svc)
}
