package gateway

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
)

// UsageFilter selects the gateway's commits to sum: a tenant ("" = every
// tenant, for a platform principal), optionally one project, and a time
// range [Since, Until) (zero = open).
type UsageFilter struct {
	TenantID  string
	ProjectID string
	Since     time.Time
	Until     time.Time
}

// UsageLine is the sum of one model's or one project's calls.
type UsageLine struct {
	Name             string
	Calls            int64
	PromptTokens     int64
	CompletionTokens int64
	CostUSD          float64
}

// UsageReport is the tokens and cost of the calls a filter selects: in
// total, by model and by project.
type UsageReport struct {
	Total     UsageLine
	ByModel   []UsageLine
	ByProject []UsageLine
}

// Usage sums the ledger's commit rows of gateway calls (those with a
// model): every token a call was billed for, streams cut short included.
func (s *Service) Usage(ctx context.Context, f UsageFilter) (UsageReport, error) {
	scope := func() *gorm.DB {
		q := s.o.DB.WithContext(ctx).Model(&models.BudgetTransaction{}).Where("kind = ? AND model IS NOT NULL", "commit")
		if f.TenantID != "" {
			q = q.Where("tenant_id = ?", f.TenantID)
		}
		if f.ProjectID != "" {
			q = q.Where("project_id = ?", f.ProjectID)
		}
		if !f.Since.IsZero() {
			q = q.Where("at >= ?", f.Since.UTC())
		}
		if !f.Until.IsZero() {
			q = q.Where("at < ?", f.Until.UTC())
		}
		return q
	}
	const sums = "COUNT(*) AS calls, COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens, " +
		"COALESCE(SUM(completion_tokens), 0) AS completion_tokens, COALESCE(SUM(cost_usd), 0) AS cost_usd"
	var r UsageReport
	if err := scope().Select("'' AS name, " + sums).Scan(&r.Total).Error; err != nil {
		return r, fmt.Errorf("gateway: usage total: %w", err)
	}
	if err := scope().Select("model AS name, " + sums).Group("model").Order("model").Scan(&r.ByModel).Error; err != nil {
		return r, fmt.Errorf("gateway: usage by model: %w", err)
	}
	if err := scope().Select("project_id AS name, " + sums).Group("project_id").Order("project_id").Scan(&r.ByProject).Error; err != nil {
		return r, fmt.Errorf("gateway: usage by project: %w", err)
	}
	return r, nil
}
