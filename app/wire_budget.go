package app

import (
	"fmt"

	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/budget"
)

// wireBudget builds the token budget ledger, serves /api/v1/budget and runs
// the sweeper that expires forgotten reservations on every replica.
func (a *App) wireBudget(deps *handlers.Deps) error {
	svc, err := budget.New(a.db.DB, audit.New(a.db.DB), budget.Options{
		DefaultLimit:   a.cfg.BudgetDefaultLimit,
		ReservationTTL: a.cfg.BudgetReservationTTL,
		CommitMaxRatio: a.cfg.BudgetCommitMaxRatio,
		Tenants:        a.tenants,
		Registerer:     a.registry,
	})
	if err != nil {
		return fmt.Errorf("budget: %w", err)
	}
	deps.Resources = append(deps.Resources, &handlers.Budget{Service: svc, Tenants: a.tenants})
	a.workers = append(a.workers, svc.Sweeper(a.cfg.BudgetSweepInterval, a.log))
	return a.wireGateway(deps, svc)
}
