package work

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/tenantrow"
)

// The audit actions of escalations.
const (
	ActionEscalationCreate  = "escalation.create"
	ActionEscalationResolve = "escalation.resolve"
)

const resourceEscalation = "escalation"

// PatternType is the kind of problem an escalation reports.
type PatternType string

// The pattern types of an escalation.
const (
	PatternSkillGap      PatternType = "skill_gap"
	PatternAgentConflict PatternType = "agent_conflict"
	PatternProcessIssue  PatternType = "process_issue"
)

// PatternTypes are every pattern type.
var PatternTypes = []PatternType{PatternSkillGap, PatternAgentConflict, PatternProcessIssue}

// Escalation is an escalation as the service shows it.
type Escalation struct {
	ID           string
	TenantID     string
	TaskID       string
	Reason       string
	PatternType  PatternType
	SuggestedFix string
	CreatedBy    string
	CreatedAt    time.Time
	// Resolution, ResolutionData, ResolvedBy and ResolvedAt are set once
	// resolved (ResolvedAt nil while open).
	Resolution     string
	ResolutionData map[string]any
	ResolvedBy     string
	ResolvedAt     *time.Time
	// TaskState is the task's state after the call that returned the
	// escalation (open and resolve); "" from reads.
	TaskState State
}

func escalationOf(r models.Escalation) Escalation {
	e := Escalation{
		ID: r.ID, TenantID: r.TenantID, TaskID: r.TaskID, Reason: r.Reason, PatternType: PatternType(r.PatternType),
		SuggestedFix: r.SuggestedFix, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), Resolution: deref(r.Resolution),
		ResolvedBy: deref(r.ResolvedBy),
	}
	if r.ResolutionData != nil {
		e.ResolutionData = orEmpty(*r.ResolutionData)
	}
	if r.ResolvedAt != nil {
		at := r.ResolvedAt.UTC()
		e.ResolvedAt = &at
	}
	return e
}

// OpenInput is a new escalation.
type OpenInput struct {
	// TenantID is the tenant the caller may see ("" for any): the task must
	// be one of it, and the escalation takes the task's tenant.
	TenantID     string
	TaskID       string
	Reason       string
	PatternType  PatternType
	SuggestedFix string
}

// OpenEscalation opens an escalation of a running, in-review or already
// escalated task and moves the task to escalated, in one transaction.
func (s *Service) OpenEscalation(ctx context.Context, actor audit.Actor, in OpenInput) (Escalation, error) {
	var out Escalation
	var done func()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		out, done, err = s.OpenEscalationTx(ctx, tx, actor, in)
		return err
	})
	if err != nil {
		return Escalation{}, err
	}
	done()
	return out, nil
}

// OpenEscalationTx is OpenEscalation inside the caller's transaction tx, for
// a rule of another service that escalates a task as part of its own change
// (a failed peer review). The escalation, the task's move and their audit
// entry commit or roll back with tx; call done once tx has committed (it
// counts the metrics).
func (s *Service) OpenEscalationTx(ctx context.Context, tx *gorm.DB, actor audit.Actor, in OpenInput) (Escalation, func(), error) {
	var f fieldErrors
	f.Text("reason", in.Reason, MaxTextLength, true)
	if !slices.Contains(PatternTypes, in.PatternType) {
		f.Add("pattern_type", "must be one of: skill_gap, agent_conflict, process_issue")
	}
	f.Text("suggested_fix", in.SuggestedFix, MaxTextLength, false)
	if err := f.Err(); err != nil {
		return Escalation{}, nil, err
	}
	task, err := s.lockTask(tx, in.TenantID, in.TaskID)
	if err != nil {
		return Escalation{}, nil, err
	}
	from := State(task.State)
	if !slices.Contains(escalatable, from) {
		return Escalation{}, nil, errs.Newf(errs.CodeConflict, "task is %s: only a running, in-review or escalated task can be escalated", from).
			WithDetails(map[string]any{"state": task.State, "escalatable_states": statesOf(escalatable)})
	}
	now := s.now()
	row := models.Escalation{
		ID: uuid.NewString(), TenantID: task.TenantID, TaskID: task.ID, Reason: in.Reason,
		PatternType: string(in.PatternType), SuggestedFix: in.SuggestedFix, CreatedBy: actor.PrincipalID, CreatedAt: now,
	}
	if err := tx.Create(&row).Error; err != nil {
		return Escalation{}, nil, fmt.Errorf("work: create escalation: %w", err)
	}
	out := escalationOf(row)
	out.TaskState = from
	moved := false
	details := map[string]any{"tenant_id": row.TenantID, "task_id": task.ID, "pattern_type": row.PatternType}
	if from != StateEscalated {
		if err := s.moveTask(tx, actor, task, StateEscalated, row.ID); err != nil {
			return Escalation{}, nil, err
		}
		out.TaskState, moved = StateEscalated, true
		details["from_state"], details["to_state"] = task.State, string(StateEscalated)
	}
	if err := s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
		Action: ActionEscalationCreate, ResourceType: resourceEscalation, ResourceID: row.ID, Details: details,
	}}}); err != nil {
		return Escalation{}, nil, err
	}
	return out, func() {
		s.metrics.opened()
		if moved {
			s.metrics.entered(StateEscalated)
		}
	}, nil
}

// moveTask moves a locked task to state for an escalation, with its event.
func (s *Service) moveTask(tx *gorm.DB, actor audit.Actor, task models.Task, to State, escalationID string) error {
	next := task
	next.State, next.Version, next.UpdatedAt = string(to), task.Version+1, s.now()
	if err := s.saveTask(tx, task.Version, next); err != nil {
		return err
	}
	return s.event(tx, actor, next, EventState, &task.State, &next.State, map[string]any{"escalation_id": escalationID})
}

// ResolveInput resolves an escalation.
type ResolveInput struct {
	Resolution string
	Data       map[string]any
}

// ResolveEscalation resolves an open escalation of tenant ("" for any)
// exactly once: a second or concurrent resolve is 409 state.conflict. When
// no other escalation of the task stays open and the task is escalated, it
// returns to running in the same transaction.
func (s *Service) ResolveEscalation(ctx context.Context, actor audit.Actor, tenant, id string, in ResolveInput) (Escalation, error) {
	var f fieldErrors
	f.Text("resolution", in.Resolution, MaxResolutionLength, true)
	if in.Data != nil {
		f.metadata("resolution_data", in.Data)
	}
	if err := f.Err(); err != nil {
		return Escalation{}, err
	}
	var out Escalation
	var moved bool
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, err := findEscalation(tx, tenant, id)
		if err != nil {
			return err
		}
		// The task first: every change of a task and its escalations takes
		// the task's row in the same order, so resolves of two escalations
		// of one task see each other.
		task, err := s.lockTaskAny(tx, row.TaskID)
		if err != nil {
			return err
		}
		now := s.now()
		data := models.JSONMap(orEmpty(in.Data))
		res := tx.Model(&models.Escalation{}).Where("id = ? AND resolved_at IS NULL", id).Updates(map[string]any{
			"resolution": in.Resolution, "resolution_data": &data, "resolved_by": actor.PrincipalID, "resolved_at": now,
		})
		if res.Error != nil {
			return fmt.Errorf("work: resolve escalation %s: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			if err := tx.Where("id = ?", id).Take(&row).Error; err != nil {
				return fmt.Errorf("work: read escalation %s: %w", id, err)
			}
			return errs.New(errs.CodeConflict, "escalation is already resolved").WithDetails(map[string]any{
				"resolved_at": row.ResolvedAt, "resolved_by": deref(row.ResolvedBy),
			})
		}
		row.Resolution, row.ResolutionData, row.ResolvedBy, row.ResolvedAt = &in.Resolution, &data, &actor.PrincipalID, &now
		out = escalationOf(row)
		out.TaskState = State(task.State)
		details := map[string]any{"tenant_id": row.TenantID, "task_id": row.TaskID, "pattern_type": row.PatternType}
		var open int64
		if err := tx.Model(&models.Escalation{}).Where("task_id = ? AND resolved_at IS NULL", task.ID).Count(&open).Error; err != nil {
			return fmt.Errorf("work: count open escalations of task %s: %w", task.ID, err)
		}
		details["open_escalations_left"] = open
		if open == 0 && State(task.State) == StateEscalated && task.DeletedAt == nil {
			if err := s.moveTask(tx, actor, task, StateRunning, row.ID); err != nil {
				return err
			}
			out.TaskState, moved = StateRunning, true
			details["from_state"], details["to_state"] = task.State, string(StateRunning)
		}
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionEscalationResolve, ResourceType: resourceEscalation, ResourceID: row.ID, Details: details,
		}}})
	})
	if err != nil {
		return Escalation{}, err
	}
	s.metrics.resolved()
	if moved {
		s.metrics.entered(StateRunning)
	}
	return out, nil
}

// lockTaskAny locks a task whatever its tenant and even when deleted: the
// task of an escalation the caller may already see.
func (s *Service) lockTaskAny(tx *gorm.DB, id string) (models.Task, error) {
	var row models.Task
	if err := tx.Clauses(lockForUpdate).Where("id = ?", id).Take(&row).Error; err != nil {
		return row, fmt.Errorf("work: lock task %s: %w", id, err)
	}
	return row, nil
}

// GetEscalation returns one escalation of tenant ("" for any).
func (s *Service) GetEscalation(ctx context.Context, tenant, id string) (Escalation, error) {
	row, err := findEscalation(s.db.WithContext(ctx), tenant, id)
	if err != nil {
		return Escalation{}, err
	}
	return escalationOf(row), nil
}

func findEscalation(db *gorm.DB, tenant, id string) (models.Escalation, error) {
	return tenantrow.Find[models.Escalation](db, tenant, id, escalationNotFound)
}

func escalationNotFound(id string) error {
	return errs.Newf(errs.CodeNotFound, "escalation %q not found", id)
}

// EscalationFilter selects escalations; empty fields do not filter.
type EscalationFilter struct {
	// TenantID is the tenant listed; "" lists every tenant.
	TenantID string
	// Resolved filters by resolution when set.
	Resolved    *bool
	PatternType PatternType
	TaskID      string
	Cursor      string
	Limit       int
}

// ListEscalations returns escalations newest first with keyset paging.
func (s *Service) ListEscalations(ctx context.Context, f EscalationFilter) (cursor.Page[Escalation], error) {
	var fe fieldErrors
	if f.PatternType != "" && !slices.Contains(PatternTypes, f.PatternType) {
		fe.Add("pattern_type", "must be one of: skill_gap, agent_conflict, process_issue")
	}
	if f.TaskID != "" && !tenantrow.ValidUUID(f.TaskID) {
		fe.Add("task_id", "must be a task id (a UUID)")
	}
	if err := fe.Err(); err != nil {
		return cursor.Page[Escalation]{}, err
	}
	keys, err := cursor.Parse(f.Cursor, f.Limit, func(id string) (any, bool) { return id, tenantrow.ValidUUID(id) })
	if err != nil {
		return cursor.Page[Escalation]{}, err
	}
	q := inTenant(s.db.WithContext(ctx).Model(&models.Escalation{}), f.TenantID)
	if f.Resolved != nil {
		if *f.Resolved {
			q = q.Where("resolved_at IS NOT NULL")
		} else {
			q = q.Where("resolved_at IS NULL")
		}
	}
	if f.PatternType != "" {
		q = q.Where("pattern_type = ?", string(f.PatternType))
	}
	if f.TaskID != "" {
		q = q.Where("task_id = ?", f.TaskID)
	}
	var rows []models.Escalation
	if err := keys.Apply(q).Find(&rows).Error; err != nil {
		return cursor.Page[Escalation]{}, fmt.Errorf("work: list escalations: %w", err)
	}
	return cursor.Cut(keys, rows, func(r models.Escalation) (time.Time, string) { return r.CreatedAt, r.ID }, escalationOf), nil
}
