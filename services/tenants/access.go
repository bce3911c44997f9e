package tenants

import (
	"context"
	"fmt"
	"slices"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/errs"
)

// Resolve is the one rule of DESIGN §7 for a request that acts in, or reads,
// one tenant's resources: own is the caller's tenant ("" for a platform
// principal), named the tenant the request names ("" when it names none).
//
//   - A tenant-bound principal acts in its own tenant; naming it is allowed,
//     naming any other is resource.not_found, exactly as for a tenant that
//     does not exist, so the answer never tells whether it exists.
//   - A platform principal must name a tenant, and may name any: one that
//     follows IDRule (created on first use by the resource that writes,
//     as budgets are), or an existing one whose id predates the rule.
//
// Every tenant-scoped resource calls it (through the handlers' tenant
// helper) before its service.
func (s *Service) Resolve(ctx context.Context, own, named string) (string, error) {
	switch {
	case own != "" && (named == "" || named == own):
		return own, nil
	case own != "":
		return "", notFound(named)
	case named == "":
		return "", errs.Validation(errs.FieldError{Field: "tenant_id", Message: "is required for a platform principal (an account without a tenant)"})
	}
	if err := s.checkNamed(ctx, named); err != nil {
		return "", err
	}
	return named, nil
}

// ResolveFilter is Resolve for a list: a platform principal that names no
// tenant lists every tenant's items (""), a tenant-bound one only its own.
func (s *Service) ResolveFilter(ctx context.Context, own, named string) (string, error) {
	if own == "" && named == "" {
		return "", nil
	}
	return s.Resolve(ctx, own, named)
}

// checkNamed accepts a tenant id named by a platform principal: a slug, or
// an id that exists although it is not one (budgets used any printable id
// before tenants existed; Backfill imported those as tenants).
func (s *Service) checkNamed(ctx context.Context, id string) error {
	if ValidID(id) {
		return nil
	}
	var n int64
	if err := s.db.WithContext(ctx).Model(&models.Tenant{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return fmt.Errorf("tenants: look up %q: %w", id, err)
	}
	if n == 0 {
		return errs.Validation(errs.FieldError{Field: "tenant_id", Message: "must be " + IDRule})
	}
	return nil
}

// Backfill brings the data of a release without tenants under the tenant
// rules, at every start, after the migrations: it creates defaultTenant,
// imports every tenant id budgets use as a tenant (as it is, even when it
// is not a slug), and moves every account that is not an admin and has no
// tenant into defaultTenant (only an admin may be a platform principal).
// Each statement changes nothing the second time, and replicas starting
// together only skip each other's rows, so it is safe to repeat and to race.
func (s *Service) Backfill(ctx context.Context, defaultTenant string) error {
	if !ValidID(defaultTenant) {
		return fmt.Errorf("default tenant %q must be %s", defaultTenant, IDRule)
	}
	now := s.now()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var missing []string
		if err := tx.Model(&models.BudgetLimit{}).Distinct("tenant_id").
			Where("NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = budget_limits.tenant_id)").
			Pluck("tenant_id", &missing).Error; err != nil {
			return fmt.Errorf("tenants: find the tenants of budgets: %w", err)
		}
		// Sorted, so two replicas insert in the same order and never wait
		// for each other's rows in opposite orders.
		slices.Sort(missing)
		rows := []models.Tenant{{ID: defaultTenant, Name: defaultTenant, CreatedAt: now, UpdatedAt: now}}
		for _, id := range missing {
			if id != defaultTenant {
				rows = append(rows, models.Tenant{ID: id, Name: id, CreatedAt: now, UpdatedAt: now})
			}
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, 500).Error; err != nil {
			return fmt.Errorf("tenants: create the default tenant and those of budgets: %w", err)
		}
		if err := tx.Model(&models.User{}).Where("tenant_id IS NULL AND role <> ?", "admin").
			Updates(map[string]any{"tenant_id": defaultTenant, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("tenants: move accounts to the default tenant: %w", err)
		}
		return nil
	})
}
