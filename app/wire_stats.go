package app

import (
	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/services/stats"
)

// wireStats serves GET /api/v1/stats from counts of the shared database.
func (a *App) wireStats(deps *handlers.Deps) error {
	deps.Resources = append(deps.Resources, &handlers.Stats{
		Counter: stats.New(a.db.DB),
		Tenants: a.tenants,
		Version: a.build.Version,
	})
	return nil
}
