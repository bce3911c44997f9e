package handlers

import (
	"context"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/tenants"
)

// TenantResolver decides which tenant a request acts in (services/tenants
// implements it; see tenants.Service.Resolve for the rule). Every
// tenant-scoped resource asks it through tenantOf or tenantFilterOf before
// calling its service.
type TenantResolver interface {
	Resolve(ctx context.Context, own, named string) (string, error)
	ResolveFilter(ctx context.Context, own, named string) (string, error)
}

var _ TenantResolver = (*tenants.Service)(nil)

// tenantOf is the tenant a request that acts in (or reads) one tenant works
// in, given the tenant_id it names ("" when none). On false the error is
// attached for the renderer (404 for another tenant, 422 when a platform
// principal names none) and the handler returns.
func tenantOf(c *gin.Context, r TenantResolver, named string) (string, bool) {
	id, _ := middleware.IdentityFrom(c)
	t, err := r.Resolve(c.Request.Context(), id.TenantID, named)
	if err != nil {
		_ = c.Error(err)
		return "", false
	}
	return t, true
}

// tenantFilterOf is tenantOf for a list: "" lets a platform principal that
// names no tenant list every tenant's items.
func tenantFilterOf(c *gin.Context, r TenantResolver, named string) (string, bool) {
	id, _ := middleware.IdentityFrom(c)
	t, err := r.ResolveFilter(c.Request.Context(), id.TenantID, named)
	if err != nil {
		_ = c.Error(err)
		return "", false
	}
	return t, true
}
