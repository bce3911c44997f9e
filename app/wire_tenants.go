package app

import (
	"context"
	"fmt"

	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/tenants"
)

// wireTenants builds the tenant service, brings the data of a release
// without tenants under the tenant rules (DEFAULT_TENANT, the tenants of
// existing budgets, accounts without a tenant; see tenants.Service.Backfill)
// and serves /api/v1/tenants. It runs before wireAuth, which seeds the demo
// users into DEFAULT_TENANT, and the resources that resolve tenants.
func (a *App) wireTenants(ctx context.Context, deps *handlers.Deps) error {
	a.tenants = tenants.New(a.db.DB, audit.New(a.db.DB))
	if !a.db.Migrator().HasTable("tenants") {
		// MIGRATE_ON_START=false with migrations pending: this replica is not
		// ready, and the one that applies the migrations backfills.
		a.log.Warn("tenants table missing (migrations pending); tenants not backfilled by this instance")
	} else if err := a.tenants.Backfill(ctx, a.cfg.DefaultTenant); err != nil {
		return fmt.Errorf("backfill tenants: %w", err)
	}
	deps.Resources = append(deps.Resources, &handlers.Tenants{Service: a.tenants})
	return nil
}
