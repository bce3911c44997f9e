package work

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
)

// The audit actions of agents.
const (
	ActionAgentCreate = "agent.create"
	ActionAgentUpdate = "agent.update"
)

const resourceAgent = "agent"

// AgentRole is what an agent does (the governance of its prompts depends on
// it, DESIGN §7).
type AgentRole string

// The roles of an agent.
const (
	RoleSecurity  AgentRole = "security"
	RoleDeveloper AgentRole = "developer"
	RoleReviewer  AgentRole = "reviewer"
	RoleTester    AgentRole = "tester"
	RoleArchitect AgentRole = "architect"
)

// AgentRoles are every role.
var AgentRoles = []AgentRole{RoleSecurity, RoleDeveloper, RoleReviewer, RoleTester, RoleArchitect}

// AgentStatus is whether an agent takes work.
type AgentStatus string

// The statuses of an agent: only an active agent is assigned tasks.
const (
	AgentActive  AgentStatus = "active"
	AgentPaused  AgentStatus = "paused"
	AgentRetired AgentStatus = "retired"
)

// AgentStatuses are every status.
var AgentStatuses = []AgentStatus{AgentActive, AgentPaused, AgentRetired}

// Agent is an agent as the service shows it.
type Agent struct {
	ID        string
	TenantID  string
	Role      AgentRole
	Status    AgentStatus
	Metadata  map[string]any
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	// PromptVersion is the current prompt version of the agent's role in
	// its tenant (its newest approved one); nil when the role has none.
	PromptVersion *int
}

func agentOf(r models.Agent) Agent {
	return Agent{
		ID: r.ID, TenantID: r.TenantID, Role: AgentRole(r.Role), Status: AgentStatus(r.Status),
		Metadata: orEmpty(r.Metadata), CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// CreateAgentInput is a new agent.
type CreateAgentInput struct {
	TenantID string
	ID       string
	Role     AgentRole
	// Status is active when empty.
	Status   AgentStatus
	Metadata map[string]any
}

func (f *fieldErrors) role(r AgentRole) {
	if !slices.Contains(AgentRoles, r) {
		f.Add("role", "must be one of: security, developer, reviewer, tester, architect")
	}
}

func (f *fieldErrors) status(s AgentStatus) {
	if !slices.Contains(AgentStatuses, s) {
		f.Add("status", "must be one of: active, paused, retired")
	}
}

// CreateAgent adds an agent to a tenant; a taken id is a 409 state.conflict.
func (s *Service) CreateAgent(ctx context.Context, actor audit.Actor, in CreateAgentInput) (Agent, error) {
	if in.Status == "" {
		in.Status = AgentActive
	}
	var f fieldErrors
	if !slugPattern.MatchString(in.ID) {
		f.Add("id", "must be "+SlugRule)
	}
	f.role(in.Role)
	f.status(in.Status)
	f.metadata("metadata", in.Metadata)
	if err := f.Err(); err != nil {
		return Agent{}, err
	}
	now := s.now()
	row := models.Agent{
		TenantID: in.TenantID, ID: in.ID, Role: string(in.Role), Status: string(in.Status),
		Metadata: models.JSONMap(orEmpty(in.Metadata)), CreatedBy: actor.PrincipalID, CreatedAt: now, UpdatedAt: now,
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.tenants.Ensure(ctx, tx, actor, in.TenantID); err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionAgentCreate, ResourceType: resourceAgent, ResourceID: row.TenantID + "/" + row.ID,
			Details: map[string]any{"tenant_id": row.TenantID, "agent_id": row.ID, "role": row.Role, "status": row.Status},
		}}})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return Agent{}, errs.Newf(errs.CodeConflict, "agent %q already exists", in.ID).WithDetails(map[string]any{"agent_id": in.ID})
	}
	if err != nil {
		return Agent{}, fmt.Errorf("work: create agent: %w", err)
	}
	return s.withPrompt(ctx, agentOf(row))
}

// withPrompt sets a's current prompt version.
func (s *Service) withPrompt(ctx context.Context, a Agent) (Agent, error) {
	one := []Agent{a}
	if err := withPrompts(s.db.WithContext(ctx), one); err != nil {
		return Agent{}, err
	}
	return one[0], nil
}

// GetAgent returns one agent of tenant; unknown is resource.not_found.
func (s *Service) GetAgent(ctx context.Context, tenant, id string) (Agent, error) {
	row, err := findAgent(s.db.WithContext(ctx), tenant, id)
	if err != nil {
		return Agent{}, err
	}
	return s.withPrompt(ctx, agentOf(row))
}

func findAgent(db *gorm.DB, tenant, id string) (models.Agent, error) {
	var row models.Agent
	err := db.Where("tenant_id = ? AND id = ?", tenant, id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, errs.Newf(errs.CodeNotFound, "agent %q not found", id)
	}
	if err != nil {
		return row, fmt.Errorf("work: read agent %s: %w", id, err)
	}
	return row, nil
}

// UpdateAgentInput changes an agent; nil fields stay as they are.
type UpdateAgentInput struct {
	Role     *AgentRole
	Status   *AgentStatus
	Metadata *map[string]any
	// Force retires an agent that has tasks in progress.
	Force bool
}

// UpdateAgent changes an agent of tenant. Retiring an agent with tasks in
// progress (running, review, escalated) is a 409 unless Force; the check and
// the change hold the agent's row, so no task is assigned to it meanwhile.
func (s *Service) UpdateAgent(ctx context.Context, actor audit.Actor, tenant, id string, in UpdateAgentInput) (Agent, error) {
	var f fieldErrors
	if in.Role != nil {
		f.role(*in.Role)
	}
	if in.Status != nil {
		f.status(*in.Status)
	}
	if in.Metadata != nil {
		f.metadata("metadata", *in.Metadata)
	}
	if err := f.Err(); err != nil {
		return Agent{}, err
	}
	var out models.Agent
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, err := findAgent(tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}), tenant, id)
		if err != nil {
			return err
		}
		out = row
		changes := map[string]any{}
		next := row
		if in.Role != nil && string(*in.Role) != row.Role {
			changes["role"], next.Role = map[string]any{"old": row.Role, "new": string(*in.Role)}, string(*in.Role)
		}
		if in.Status != nil && string(*in.Status) != row.Status {
			changes["status"], next.Status = map[string]any{"old": row.Status, "new": string(*in.Status)}, string(*in.Status)
		}
		if in.Metadata != nil && !maps.EqualFunc(*in.Metadata, map[string]any(row.Metadata), jsonEqual) {
			changes["metadata"], next.Metadata = map[string]any{"old": map[string]any(row.Metadata), "new": *in.Metadata}, models.JSONMap(orEmpty(*in.Metadata))
		}
		if len(changes) == 0 {
			return nil
		}
		details := map[string]any{"tenant_id": tenant, "agent_id": id, "changes": changes}
		if next.Status == string(AgentRetired) && row.Status != string(AgentRetired) {
			var n int64
			if err := tx.Model(&models.Task{}).Where("tenant_id = ? AND agent_id = ? AND deleted_at IS NULL AND state IN ?",
				tenant, id, statesOf(inProgress)).Count(&n).Error; err != nil {
				return fmt.Errorf("work: count tasks of agent %s: %w", id, err)
			}
			if n > 0 && !in.Force {
				return errs.Newf(errs.CodeConflict, "agent %q has %d tasks in progress: finish or reassign them, or retire it with force", id, n).
					WithDetails(map[string]any{"agent_id": id, "tasks_in_progress": n})
			}
			details["tasks_in_progress"], details["force"] = n, in.Force
		}
		next.UpdatedAt = s.now()
		if err := tx.Model(&models.Agent{}).Where("tenant_id = ? AND id = ?", tenant, id).Updates(map[string]any{
			"role": next.Role, "status": next.Status, "metadata": next.Metadata, "updated_at": next.UpdatedAt,
		}).Error; err != nil {
			return fmt.Errorf("work: update agent %s: %w", id, err)
		}
		out = next
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionAgentUpdate, ResourceType: resourceAgent, ResourceID: tenant + "/" + id, Details: details,
		}}})
	})
	if err != nil {
		return Agent{}, err
	}
	return s.withPrompt(ctx, agentOf(out))
}

// AgentFilter selects agents; empty fields do not filter.
type AgentFilter struct {
	// TenantID is the tenant listed; "" lists every tenant.
	TenantID string
	Role     AgentRole
	Status   AgentStatus
	Cursor   string
	Limit    int
}

// ListAgents returns agents newest first with keyset paging.
func (s *Service) ListAgents(ctx context.Context, f AgentFilter) (cursor.Page[Agent], error) {
	var fe fieldErrors
	if f.Role != "" {
		fe.role(f.Role)
	}
	if f.Status != "" {
		fe.status(f.Status)
	}
	if err := fe.Err(); err != nil {
		return cursor.Page[Agent]{}, err
	}
	keys, err := cursor.Parse(f.Cursor, f.Limit, func(id string) (any, bool) { return id, slugPattern.MatchString(id) })
	if err != nil {
		return cursor.Page[Agent]{}, err
	}
	q := inTenant(s.db.WithContext(ctx).Model(&models.Agent{}), f.TenantID)
	if f.Role != "" {
		q = q.Where("role = ?", string(f.Role))
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	var rows []models.Agent
	if err := keys.Apply(q).Find(&rows).Error; err != nil {
		return cursor.Page[Agent]{}, fmt.Errorf("work: list agents: %w", err)
	}
	page := cursor.Cut(keys, rows, func(r models.Agent) (time.Time, string) { return r.CreatedAt, r.ID }, agentOf)
	if err := withPrompts(s.db.WithContext(ctx), page.Items); err != nil {
		return cursor.Page[Agent]{}, err
	}
	return page, nil
}

func statesOf(states []State) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}
