package learning

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/work"
)

// The audit actions of learning.
const (
	ActionGovernanceUpdate = "learning.governance.update"
	ActionProposalCreate   = "learning.proposal.create"
	ActionProposalRefuse   = "learning.proposal.refuse"
	ActionProposalApprove  = "learning.proposal.approve"
	ActionProposalReject   = "learning.proposal.reject"
)

const (
	resourceGovernance = "learning_governance"
	resourcePrompt     = "agent_prompt"
)

// Rule is a role's governance rule.
type Rule struct {
	MaxUpdatesPerDay     int
	CooldownHours        int
	RequireHumanApproval bool
}

// DefaultGovernance is the rule of a role that no one has changed in a
// tenant: the original platform's seed.
var DefaultGovernance = map[work.AgentRole]Rule{
	work.RoleSecurity:  {MaxUpdatesPerDay: 1, CooldownHours: 24, RequireHumanApproval: true},
	work.RoleArchitect: {MaxUpdatesPerDay: 2, CooldownHours: 12, RequireHumanApproval: true},
	work.RoleDeveloper: {MaxUpdatesPerDay: 5, CooldownHours: 2},
	work.RoleReviewer:  {MaxUpdatesPerDay: 3, CooldownHours: 4},
	work.RoleTester:    {MaxUpdatesPerDay: 5, CooldownHours: 2},
}

// Governance is a role's rule in a tenant.
type Governance struct {
	TenantID string
	Role     work.AgentRole
	Rule
	// LastUpdateAt is the time of the role's last accepted proposal (nil
	// when none).
	LastUpdateAt *time.Time
	// Default is set while the rule is DefaultGovernance and was never
	// written; UpdatedBy and UpdatedAt are empty then.
	Default   bool
	UpdatedBy string
	UpdatedAt *time.Time
}

func governanceOf(r models.LearningGovernance) Governance {
	g := Governance{
		TenantID: r.TenantID, Role: work.AgentRole(r.AgentRole),
		Rule:      Rule{MaxUpdatesPerDay: r.MaxUpdatesPerDay, CooldownHours: r.CooldownHours, RequireHumanApproval: r.RequireHumanApproval},
		UpdatedBy: r.UpdatedBy,
	}
	at := r.UpdatedAt.UTC()
	g.UpdatedAt = &at
	if r.LastUpdateAt != nil {
		l := r.LastUpdateAt.UTC()
		g.LastUpdateAt = &l
	}
	return g
}

func defaultOf(tenant string, role work.AgentRole) Governance {
	return Governance{TenantID: tenant, Role: role, Rule: DefaultGovernance[role], Default: true}
}

func (f *fieldErrors) role(field string, r work.AgentRole) {
	if !slices.Contains(work.AgentRoles, r) {
		f.Add(field, "must be one of: security, developer, reviewer, tester, architect")
	}
}

// ListGovernance returns the rule of every role in tenant, in the order of
// work.AgentRoles.
func (s *Service) ListGovernance(ctx context.Context, tenant string) ([]Governance, error) {
	var rows []models.LearningGovernance
	if err := s.db.WithContext(ctx).Where("tenant_id = ?", tenant).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("learning: read governance of %s: %w", tenant, err)
	}
	out := make([]Governance, 0, len(work.AgentRoles))
	for _, role := range work.AgentRoles {
		g := defaultOf(tenant, role)
		for _, r := range rows {
			if r.AgentRole == string(role) {
				g = governanceOf(r)
			}
		}
		out = append(out, g)
	}
	return out, nil
}

// SetGovernance replaces the rule of role in tenant (creating the tenant on
// first use), audited in the same transaction. The role's last update stays.
func (s *Service) SetGovernance(ctx context.Context, actor audit.Actor, tenant string, role work.AgentRole, rule Rule) (Governance, error) {
	var f fieldErrors
	f.role("role", role)
	if rule.MaxUpdatesPerDay < 0 || rule.MaxUpdatesPerDay > MaxUpdatesPerDay {
		f.Add("max_updates_per_day", fmt.Sprintf("must be between 0 and %d", MaxUpdatesPerDay))
	}
	if rule.CooldownHours < 0 || rule.CooldownHours > MaxCooldownHours {
		f.Add("cooldown_hours", fmt.Sprintf("must be between 0 and %d", MaxCooldownHours))
	}
	if err := f.Err(); err != nil {
		return Governance{}, err
	}
	var out Governance
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, err := s.lockGovernance(ctx, tx, actor, tenant, role)
		if err != nil {
			return err
		}
		before := governanceOf(row).Rule
		row.MaxUpdatesPerDay, row.CooldownHours, row.RequireHumanApproval = rule.MaxUpdatesPerDay, rule.CooldownHours, rule.RequireHumanApproval
		row.UpdatedBy, row.UpdatedAt = actor.PrincipalID, s.now()
		if err := tx.Save(&row).Error; err != nil {
			return fmt.Errorf("learning: save governance %s/%s: %w", tenant, role, err)
		}
		out = governanceOf(row)
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionGovernanceUpdate, ResourceType: resourceGovernance, ResourceID: tenant + "/" + string(role),
			Details: map[string]any{
				"tenant_id": tenant, "agent_role": string(role),
				"before": ruleDetails(before), "after": ruleDetails(rule),
			},
		}}})
	})
	if err != nil {
		return Governance{}, err
	}
	return out, nil
}

func ruleDetails(r Rule) map[string]any {
	return map[string]any{
		"max_updates_per_day": r.MaxUpdatesPerDay, "cooldown_hours": r.CooldownHours,
		"require_human_approval": r.RequireHumanApproval,
	}
}

// lockGovernance creates the tenant and the role's governance row with the
// defaults when missing, then locks the row: every decision on a role's
// prompts holds this lock until its transaction ends.
func (s *Service) lockGovernance(ctx context.Context, tx *gorm.DB, actor audit.Actor, tenant string, role work.AgentRole) (models.LearningGovernance, error) {
	var row models.LearningGovernance
	if err := s.tenants.Ensure(ctx, tx, actor, tenant); err != nil {
		return row, err
	}
	d := DefaultGovernance[role]
	seed := models.LearningGovernance{
		TenantID: tenant, AgentRole: string(role), MaxUpdatesPerDay: d.MaxUpdatesPerDay, CooldownHours: d.CooldownHours,
		RequireHumanApproval: d.RequireHumanApproval, UpdatedBy: "system", UpdatedAt: s.now(),
	}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&seed).Error; err != nil {
		return row, fmt.Errorf("learning: seed governance %s/%s: %w", tenant, role, err)
	}
	err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
		Where("tenant_id = ? AND agent_role = ?", tenant, string(role)).Take(&row).Error
	if err != nil {
		return row, fmt.Errorf("learning: lock governance %s/%s: %w", tenant, role, err)
	}
	return row, nil
}
