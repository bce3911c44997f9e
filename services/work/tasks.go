package work

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/tenantrow"
)

// The audit actions of tasks.
const (
	ActionTaskCreate = "task.create"
	ActionTaskUpdate = "task.update"
	ActionTaskDelete = "task.delete"
)

// Kinds of task events.
const (
	EventCreated = "created"
	EventUpdated = "updated"
	EventState   = "state"
	EventDeleted = "deleted"
)

const resourceTask = "task"

// Task is a task as the service shows it.
type Task struct {
	ID          string
	TenantID    string
	Title       string
	Description string
	// AgentID is the agent the task is assigned to; "" when none.
	AgentID  string
	State    State
	Metadata map[string]any
	// Version grows by one with every change.
	Version   int64
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	// DeletedAt is set once the task is deleted (only DeleteTask returns
	// such a task).
	DeletedAt *time.Time
}

func taskOf(r models.Task) Task {
	t := Task{
		ID: r.ID, TenantID: r.TenantID, Title: r.Title, Description: r.Description, State: State(r.State),
		Metadata: orEmpty(r.Metadata), Version: r.Version, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.AgentID != nil {
		t.AgentID = *r.AgentID
	}
	if r.DeletedAt != nil {
		at := r.DeletedAt.UTC()
		t.DeletedAt = &at
	}
	return t
}

// CreateTaskInput is a new task.
type CreateTaskInput struct {
	// TenantID is the tenant the caller acts in (resolved by the handler).
	TenantID    string
	Title       string
	Description string
	// AgentID assigns the task to an active agent of the tenant; "" for none.
	AgentID  string
	Metadata map[string]any
}

// CreateTask adds a pending task, with its first event and audit entry.
func (s *Service) CreateTask(ctx context.Context, actor audit.Actor, in CreateTaskInput) (Task, error) {
	var f fieldErrors
	f.Text("title", in.Title, MaxTitleLength, true)
	f.Text("description", in.Description, MaxTextLength, false)
	if in.AgentID != "" && !slugPattern.MatchString(in.AgentID) {
		f.Add("agent_id", "must be "+SlugRule)
	}
	f.metadata("metadata", in.Metadata)
	if err := f.Err(); err != nil {
		return Task{}, err
	}
	now := s.now()
	row := models.Task{
		ID: uuid.NewString(), TenantID: in.TenantID, Title: in.Title, Description: in.Description,
		State: string(StatePending), Metadata: models.JSONMap(orEmpty(in.Metadata)), Version: 1,
		CreatedBy: actor.PrincipalID, CreatedAt: now, UpdatedAt: now,
	}
	if in.AgentID != "" {
		row.AgentID = &in.AgentID
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.tenants.Ensure(ctx, tx, actor, in.TenantID); err != nil {
			return err
		}
		if in.AgentID != "" {
			if err := s.assignable(tx, in.TenantID, in.AgentID); err != nil {
				return err
			}
		}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("work: create task: %w", err)
		}
		to := string(StatePending)
		if err := s.event(tx, actor, row, EventCreated, nil, &to, map[string]any{"title": row.Title, "agent_id": in.AgentID}); err != nil {
			return err
		}
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionTaskCreate, ResourceType: resourceTask, ResourceID: row.ID,
			Details: map[string]any{"tenant_id": row.TenantID, "title": row.Title, "agent_id": in.AgentID},
		}}})
	})
	if err != nil {
		return Task{}, err
	}
	s.metrics.entered(StatePending)
	return taskOf(row), nil
}

// assignable checks, inside tx, that agent is an active agent of tenant,
// and keeps it from being retired until tx ends (PostgreSQL: FOR SHARE
// against the FOR UPDATE of UpdateAgent; SQLite has one writer at a time).
func (s *Service) assignable(tx *gorm.DB, tenant, agent string) error {
	var a models.Agent
	err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthShare}).
		Where("tenant_id = ? AND id = ?", tenant, agent).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return errs.Validation(errs.FieldError{Field: "agent_id", Message: fmt.Sprintf("no agent %q in tenant %q", agent, tenant)})
	}
	if err != nil {
		return fmt.Errorf("work: read agent %s: %w", agent, err)
	}
	if a.Status != string(AgentActive) {
		return errs.Newf(errs.CodeConflict, "agent %q is %s: only an active agent takes tasks", agent, a.Status).
			WithDetails(map[string]any{"agent_id": agent, "agent_status": a.Status})
	}
	return nil
}

// GetTask returns one task of tenant ("" for any tenant); another tenant's,
// a deleted or an unknown task is resource.not_found.
func (s *Service) GetTask(ctx context.Context, tenant, id string) (Task, error) {
	row, err := s.findTask(s.db.WithContext(ctx), tenant, id)
	if err != nil {
		return Task{}, err
	}
	return taskOf(row), nil
}

func (s *Service) findTask(db *gorm.DB, tenant, id string) (models.Task, error) {
	return tenantrow.Find[models.Task](db.Where("deleted_at IS NULL"), tenant, id, taskNotFound)
}

// lockTask reads a task and locks its row until tx ends (PostgreSQL: FOR
// UPDATE; SQLite transactions take the write lock at BEGIN), so every change
// of one task, on any replica, sees the one before it.
func (s *Service) lockTask(tx *gorm.DB, tenant, id string) (models.Task, error) {
	return s.findTask(tx.Clauses(lockForUpdate), tenant, id)
}

func taskNotFound(id string) error {
	return errs.Newf(errs.CodeNotFound, "task %q not found", id)
}

// TaskFilter selects tasks; empty fields do not filter.
type TaskFilter struct {
	// TenantID is the tenant listed; "" lists every tenant (a platform
	// principal).
	TenantID  string
	State     State
	AgentID   string
	CreatedBy string
	// Since (inclusive) and Until (exclusive) bound created_at.
	Since, Until time.Time
	Cursor       string
	Limit        int
}

// ListTasks returns tasks newest first with keyset paging; deleted tasks
// are not listed.
func (s *Service) ListTasks(ctx context.Context, f TaskFilter) (cursor.Page[Task], error) {
	var fe fieldErrors
	if f.State != "" && !f.State.Valid() {
		fe.Add("state", "must be one of: pending, running, review, completed, escalated, failed, cancelled")
	}
	if err := fe.Err(); err != nil {
		return cursor.Page[Task]{}, err
	}
	keys, err := cursor.Parse(f.Cursor, f.Limit, func(id string) (any, bool) { return id, tenantrow.ValidUUID(id) })
	if err != nil {
		return cursor.Page[Task]{}, err
	}
	q := inTenant(s.db.WithContext(ctx).Model(&models.Task{}), f.TenantID).Where("deleted_at IS NULL")
	if f.State != "" {
		q = q.Where("state = ?", string(f.State))
	}
	if f.AgentID != "" {
		q = q.Where("agent_id = ?", f.AgentID)
	}
	if f.CreatedBy != "" {
		q = q.Where("created_by = ?", f.CreatedBy)
	}
	if q, err = cursor.Between(q, f.Since, f.Until); err != nil {
		return cursor.Page[Task]{}, err
	}
	var rows []models.Task
	if err := keys.Apply(q).Find(&rows).Error; err != nil {
		return cursor.Page[Task]{}, fmt.Errorf("work: list tasks: %w", err)
	}
	return cursor.Cut(keys, rows, func(r models.Task) (time.Time, string) { return r.CreatedAt, r.ID }, taskOf), nil
}

// UpdateTaskInput changes a task; nil fields stay as they are.
type UpdateTaskInput struct {
	Title       *string
	Description *string
	// AgentID reassigns the task ("" unassigns it).
	AgentID  *string
	Metadata *map[string]any
	State    *State
	// Version, when set, is the version the caller read: the change is
	// refused (409) if the task has changed since.
	Version *int64
}

// UpdateTask changes the fields and/or the state of a task of tenant ("" for
// any tenant). The state moves only along the state machine; a stale Version
// is a 409 state.conflict. The change, its events and its audit entry are
// one transaction; a change that changes nothing writes nothing.
func (s *Service) UpdateTask(ctx context.Context, actor audit.Actor, tenant, id string, in UpdateTaskInput) (Task, error) {
	var f fieldErrors
	if in.Title != nil {
		f.Text("title", *in.Title, MaxTitleLength, true)
	}
	if in.Description != nil {
		f.Text("description", *in.Description, MaxTextLength, false)
	}
	if in.AgentID != nil && *in.AgentID != "" && !slugPattern.MatchString(*in.AgentID) {
		f.Add("agent_id", "must be "+SlugRule)
	}
	if in.Metadata != nil {
		f.metadata("metadata", *in.Metadata)
	}
	if in.State != nil && !in.State.Valid() {
		f.Add("state", "must be one of: pending, running, review, completed, escalated, failed, cancelled")
	}
	if in.Version != nil && *in.Version < 1 {
		f.Add("version", "must be at least 1")
	}
	if err := f.Err(); err != nil {
		return Task{}, err
	}
	var out models.Task
	var entered State
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, err := s.lockTask(tx, tenant, id)
		if err != nil {
			return err
		}
		out = row
		if in.Version != nil && *in.Version != row.Version {
			return staleVersion(row.Version, *in.Version)
		}
		changes := map[string]any{}
		next := row
		if in.Title != nil && *in.Title != row.Title {
			changes["title"], next.Title = map[string]any{"old": row.Title, "new": *in.Title}, *in.Title
		}
		if in.Description != nil && *in.Description != row.Description {
			changes["description"], next.Description = map[string]any{"old": row.Description, "new": *in.Description}, *in.Description
		}
		if in.AgentID != nil && *in.AgentID != deref(row.AgentID) {
			if *in.AgentID != "" {
				if err := s.assignable(tx, row.TenantID, *in.AgentID); err != nil {
					return err
				}
				next.AgentID = in.AgentID
			} else {
				next.AgentID = nil
			}
			changes["agent_id"] = map[string]any{"old": deref(row.AgentID), "new": *in.AgentID}
		}
		if in.Metadata != nil && !maps.EqualFunc(*in.Metadata, map[string]any(row.Metadata), jsonEqual) {
			changes["metadata"], next.Metadata = map[string]any{"old": map[string]any(row.Metadata), "new": *in.Metadata}, models.JSONMap(orEmpty(*in.Metadata))
		}
		from := State(row.State)
		moved := in.State != nil && *in.State != from
		if moved && !from.CanMove(*in.State) {
			return transitionConflict(from, *in.State)
		}
		if len(changes) == 0 && !moved {
			return nil
		}
		if moved {
			next.State = string(*in.State)
		}
		next.Version, next.UpdatedAt = row.Version+1, s.now()
		if err := s.saveTask(tx, row.Version, next); err != nil {
			return err
		}
		out = next
		if len(changes) > 0 {
			if err := s.event(tx, actor, next, EventUpdated, nil, nil, changes); err != nil {
				return err
			}
		}
		details := map[string]any{"tenant_id": row.TenantID, "version": next.Version, "changes": changes}
		if moved {
			entered = State(next.State)
			if err := s.event(tx, actor, next, EventState, &row.State, &next.State, map[string]any{}); err != nil {
				return err
			}
			details["from_state"], details["to_state"] = row.State, next.State
		}
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionTaskUpdate, ResourceType: resourceTask, ResourceID: row.ID, Details: details,
		}}})
	})
	if err != nil {
		return Task{}, err
	}
	if entered != "" {
		s.metrics.entered(entered)
	}
	return taskOf(out), nil
}

// saveTask writes next over the row at version was (locked by the caller;
// the version condition is a second guard that no change is lost).
func (s *Service) saveTask(tx *gorm.DB, was int64, next models.Task) error {
	res := tx.Model(&models.Task{}).Where("id = ? AND version = ?", next.ID, was).Updates(map[string]any{
		"title": next.Title, "description": next.Description, "agent_id": next.AgentID, "state": next.State,
		"metadata": next.Metadata, "version": next.Version, "updated_at": next.UpdatedAt, "deleted_at": next.DeletedAt,
	})
	if res.Error != nil {
		return fmt.Errorf("work: update task %s: %w", next.ID, res.Error)
	}
	if res.RowsAffected != 1 {
		return staleVersion(next.Version, was)
	}
	return nil
}

func staleVersion(current, sent int64) error {
	return errs.Newf(errs.CodeConflict, "task is at version %d, not %d: it changed since it was read; read it again and retry", current, sent).
		WithDetails(map[string]any{"version": current, "sent_version": sent})
}

// DeleteTask soft-deletes a task of tenant ("" for any tenant): it is no
// longer listed or found, and its history stays. A task in progress
// (running, review or escalated) is refused: fail or cancel it first.
func (s *Service) DeleteTask(ctx context.Context, actor audit.Actor, tenant, id string, version *int64) (Task, error) {
	var out models.Task
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, err := s.lockTask(tx, tenant, id)
		if err != nil {
			return err
		}
		if version != nil && *version != row.Version {
			return staleVersion(row.Version, *version)
		}
		if st := State(row.State); st == StateRunning || st == StateEscalated || st == StateReview {
			return errs.Newf(errs.CodeConflict, "task is %s: a task in progress cannot be deleted; move it to failed or cancelled first", st).
				WithDetails(map[string]any{"state": row.State, "allowed_states": []string{string(StateFailed), string(StateCancelled)}})
		}
		now := s.now()
		next := row
		next.Version, next.UpdatedAt, next.DeletedAt = row.Version+1, now, &now
		if err := s.saveTask(tx, row.Version, next); err != nil {
			return err
		}
		if err := s.event(tx, actor, next, EventDeleted, nil, nil, map[string]any{}); err != nil {
			return err
		}
		out = next
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionTaskDelete, ResourceType: resourceTask, ResourceID: row.ID,
			Details: map[string]any{"tenant_id": row.TenantID, "state": row.State, "version": next.Version},
		}}})
	})
	if err != nil {
		return Task{}, err
	}
	return taskOf(out), nil
}

// event writes one row of task_events for task (as it is after the change).
func (s *Service) event(tx *gorm.DB, actor audit.Actor, task models.Task, kind string, from, to *string, changes map[string]any) error {
	e := models.TaskEvent{
		TaskID: task.ID, TenantID: task.TenantID, Kind: kind, FromState: from, ToState: to,
		Changes: models.JSONMap(changes), Version: task.Version, Actor: actorName(actor),
		RequestID: actor.RequestID, CreatedAt: s.now(),
	}
	if err := tx.Create(&e).Error; err != nil {
		return fmt.Errorf("work: write task event: %w", err)
	}
	return nil
}

// actorName is how an actor is recorded in task_events: its principal id,
// or the name of a system actor.
func actorName(a audit.Actor) string {
	if a.PrincipalID != "" {
		return a.PrincipalID
	}
	return a.Name()
}

// TaskEvent is one change of a task.
type TaskEvent struct {
	ID        int64
	TaskID    string
	Kind      string
	FromState State
	ToState   State
	Changes   map[string]any
	Version   int64
	Actor     string
	RequestID string
	CreatedAt time.Time
}

func taskEventOf(r models.TaskEvent) TaskEvent {
	e := TaskEvent{
		ID: r.ID, TaskID: r.TaskID, Kind: r.Kind, Changes: orEmpty(r.Changes), Version: r.Version,
		Actor: r.Actor, RequestID: r.RequestID, CreatedAt: r.CreatedAt.UTC(),
	}
	if r.FromState != nil {
		e.FromState = State(*r.FromState)
	}
	if r.ToState != nil {
		e.ToState = State(*r.ToState)
	}
	return e
}

// EventFilter pages through one task's history.
type EventFilter struct {
	TenantID string
	TaskID   string
	Cursor   string
	Limit    int
}

// TaskEvents returns the history of a task of tenant ("" for any tenant),
// newest first with keyset paging.
func (s *Service) TaskEvents(ctx context.Context, f EventFilter) (cursor.Page[TaskEvent], error) {
	if _, err := s.findTask(s.db.WithContext(ctx), f.TenantID, f.TaskID); err != nil {
		return cursor.Page[TaskEvent]{}, err
	}
	keys, err := cursor.Parse(f.Cursor, f.Limit, func(id string) (any, bool) {
		n, err := strconv.ParseInt(id, 10, 64)
		return n, err == nil && n > 0
	})
	if err != nil {
		return cursor.Page[TaskEvent]{}, err
	}
	var rows []models.TaskEvent
	if err := keys.Apply(s.db.WithContext(ctx).Where("task_id = ?", f.TaskID)).Find(&rows).Error; err != nil {
		return cursor.Page[TaskEvent]{}, fmt.Errorf("work: list task events: %w", err)
	}
	return cursor.Cut(keys, rows, func(r models.TaskEvent) (time.Time, string) {
		return r.CreatedAt, strconv.FormatInt(r.ID, 10)
	}, taskEventOf), nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// lockForUpdate locks the rows read until the transaction ends (PostgreSQL
// FOR UPDATE; the SQLite dialect leaves it out, its transactions take the
// write lock at BEGIN).
var lockForUpdate = clause.Locking{Strength: clause.LockingStrengthUpdate}
