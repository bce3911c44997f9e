package app

import (
	"context"

	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/middleware"
)

// buildServices builds every service and the router's dependencies. Each
// capability adds its service here and its handler to Resources.
func (a *App) buildServices(ctx context.Context) (handlers.Deps, error) {
	deps := handlers.Deps{
		Log:            a.log,
		Version:        a.build.Version,
		MaxBodyBytes:   a.cfg.MaxBodyBytes,
		CORSOrigins:    a.cfg.CORSAllowOrigins,
		TrustedProxies: a.cfg.TrustedProxies,
		HTTPMetrics:    middleware.NewHTTPMetrics(a.registry),
		Metrics:        a.metricsHandler(),
		MetricsToken:   a.cfg.MetricsBearerToken,
	}
	if err := a.wireBreakers(&deps); err != nil {
		return deps, err
	}
	deps.Health = &handlers.Health{Checker: a.healthChecker(), Readiness: a, Name: Name, Version: a.build.Version}
	if err := a.wireTenants(ctx, &deps); err != nil {
		return deps, err
	}
	if err := a.wireAuth(ctx, &deps); err != nil {
		return deps, err
	}
	if err := a.wireRateLimits(&deps); err != nil {
		return deps, err
	}
	if err := a.wireStats(&deps); err != nil {
		return deps, err
	}
	if err := a.wireBudget(&deps); err != nil {
		return deps, err
	}
	if err := a.wireWork(&deps); err != nil {
		return deps, err
	}
	if err := a.wireLearning(&deps); err != nil {
		return deps, err
	}
	if err := a.wireDLQ(ctx, &deps); err != nil {
		return deps, err
	}
	if err := a.wireValidate(&deps); err != nil {
		return deps, err
	}
	return deps, nil
}
