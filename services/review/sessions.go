package review

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/llmcheck"
	"github.com/golden-architecture/control-plane/services/tenantrow"
	"github.com/golden-architecture/control-plane/services/work"
)

// The audit actions of reviews.
const (
	ActionCreate   = "review.create"
	ActionVote     = "review.vote"
	ActionComplete = "review.complete"
	ActionFail     = "review.fail"
)

const resourceReview = "review"

// Status is where a session stands.
type Status string

// The statuses of a session: open until decided, then completed or failed.
const (
	StatusOpen      Status = "open"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
)

// Decision is an agent's vote.
type Decision string

// The votes: only approve counts towards the quorum.
const (
	Approve     Decision = "approve"
	Reject      Decision = "reject"
	Conditional Decision = "conditional"
)

// reviewable are the task states a session may be opened in: those in
// which a failed session can escalate the task.
var reviewable = []work.State{work.StateRunning, work.StateReview, work.StateEscalated}

// agentPattern is the agent id rule (work.SlugRule).
var agentPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Invite is an agent invited to a session with its weight.
type Invite struct {
	AgentID string
	Weight  float64
}

// Vote is one agent's vote.
type Vote struct {
	AgentID    string
	Weight     float64
	Decision   Decision
	Reasoning  string
	Confidence *float64
	// LLMData is the validated consensus answer of a vote sent raw (nil
	// otherwise) and Warnings the validator's warnings about it.
	LLMData   map[string]any
	Warnings  []llmcheck.Warning
	CreatedBy string
	CreatedAt time.Time
}

// Review is a session as the service shows it.
type Review struct {
	ID          string
	TenantID    string
	TaskID      string
	Quorum      float64
	Agents      []Invite
	TotalWeight float64
	Status      Status
	// ApproveWeight and VotedWeight are the weights of the approvals and of
	// every vote so far; Score is ApproveWeight / TotalWeight, the weighted
	// share of approvals.
	ApproveWeight float64
	VotedWeight   float64
	Score         float64
	Votes         []Vote
	// EscalationID is the escalation a failed session opened ("" when none).
	EscalationID string
	CreatedBy    string
	CreatedAt    time.Time
	DecidedAt    *time.Time
	// TaskState is the task's state after the vote that decided the
	// session; "" otherwise.
	TaskState work.State
}

func reviewOf(r models.Review, votes []models.ReviewVote) Review {
	out := Review{
		ID: r.ID, TenantID: r.TenantID, TaskID: r.TaskID, Quorum: r.Quorum, TotalWeight: r.TotalWeight,
		Status: Status(r.Status), CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), Votes: []Vote{},
		Agents: make([]Invite, len(r.Invited)),
	}
	for i, inv := range r.Invited {
		out.Agents[i] = Invite(inv)
	}
	if r.EscalationID != nil {
		out.EscalationID = *r.EscalationID
	}
	if r.DecidedAt != nil {
		at := r.DecidedAt.UTC()
		out.DecidedAt = &at
	}
	for _, v := range votes {
		out.Votes = append(out.Votes, voteOf(v))
		out.VotedWeight += v.Weight
		if v.Vote == string(Approve) {
			out.ApproveWeight += v.Weight
		}
	}
	out.Score = out.ApproveWeight / out.TotalWeight
	return out
}

func voteOf(r models.ReviewVote) Vote {
	v := Vote{
		AgentID: r.AgentID, Weight: r.Weight, Decision: Decision(r.Vote), Reasoning: r.Reasoning, Confidence: r.Confidence,
		Warnings: []llmcheck.Warning{}, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(),
	}
	if r.LLMCheck != nil {
		var data any
		data, v.Warnings = llmcheck.FromStored(*r.LLMCheck)
		v.LLMData, _ = data.(map[string]any)
	}
	return v
}

// CreateInput is a new session.
type CreateInput struct {
	// TenantID is the tenant the caller may see ("" for any): the task must
	// be one of it, and the session takes the task's tenant.
	TenantID string
	TaskID   string
	// Quorum is the share of the invited weight the approvals must reach,
	// 0 < q ≤ 1; nil is DefaultQuorum.
	Quorum *float64
	Agents []Invite
}

// Create opens a session on a running, in-review or escalated task of the
// caller's tenant, inviting active agents of the task's tenant, each once
// and with a weight > 0. A task with an open session already is 409.
func (s *Service) Create(ctx context.Context, actor audit.Actor, in CreateInput) (Review, error) {
	quorum := DefaultQuorum
	if in.Quorum != nil {
		quorum = *in.Quorum
	}
	var f fieldErrors
	if !(quorum > 0 && quorum <= 1) {
		f.Add("quorum", "must be greater than 0 and at most 1")
	}
	if !tenantrow.ValidUUID(in.TaskID) {
		f.Add("task_id", "must be a task id (a UUID)")
	}
	if len(in.Agents) == 0 || len(in.Agents) > MaxAgents {
		f.Add("agents", fmt.Sprintf("must invite 1 to %d agents", MaxAgents))
	}
	seen := map[string]bool{}
	total := 0.0
	for i, a := range in.Agents {
		field := fmt.Sprintf("agents[%d]", i)
		if !agentPattern.MatchString(a.AgentID) {
			f.Add(field+".agent_id", "must be "+work.SlugRule)
		}
		if seen[a.AgentID] {
			f.Add(field+".agent_id", fmt.Sprintf("agent %q is invited twice", a.AgentID))
		}
		seen[a.AgentID] = true
		if math.IsNaN(a.Weight) || a.Weight <= 0 || a.Weight > MaxWeight {
			f.Add(field+".weight", fmt.Sprintf("must be greater than 0 and at most %d", MaxWeight))
		}
		total += a.Weight
	}
	if err := f.Err(); err != nil {
		return Review{}, err
	}
	var out Review
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		task, err := lockTask(tx, in.TenantID, in.TaskID, false)
		if err != nil {
			return err
		}
		if !slices.Contains(reviewable, work.State(task.State)) {
			return errs.Newf(errs.CodeConflict, "task is %s: only a running, in-review or escalated task can be reviewed", task.State).
				WithDetails(map[string]any{"state": task.State, "reviewable_states": []string{"running", "review", "escalated"}})
		}
		if err := checkAgents(tx, task.TenantID, in.Agents); err != nil {
			return err
		}
		invited := make(models.ReviewInvites, len(in.Agents))
		ids := make([]string, len(in.Agents))
		for i, a := range in.Agents {
			invited[i], ids[i] = models.ReviewInvite(a), a.AgentID
		}
		row := models.Review{
			ID: uuid.NewString(), TenantID: task.TenantID, TaskID: task.ID, Quorum: quorum, Invited: invited,
			TotalWeight: total, Status: string(StatusOpen), CreatedBy: actor.PrincipalID, CreatedAt: s.now(),
		}
		if err := tx.Create(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return errs.New(errs.CodeConflict, "the task has an open review already: it is decided before another opens").
					WithDetails(map[string]any{"task_id": task.ID})
			}
			return fmt.Errorf("review: create: %w", err)
		}
		out = reviewOf(row, nil)
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionCreate, ResourceType: resourceReview, ResourceID: row.ID, Details: map[string]any{
				"tenant_id": row.TenantID, "task_id": task.ID, "quorum": quorum, "agents": ids, "total_weight": total,
			},
		}}})
	})
	if err != nil {
		return Review{}, err
	}
	return out, nil
}

// checkAgents checks that every invited agent is an active agent of tenant:
// an unknown one (or another tenant's) is 404, a paused or retired one 409.
func checkAgents(tx *gorm.DB, tenant string, invites []Invite) error {
	ids := make([]string, len(invites))
	for i, a := range invites {
		ids[i] = a.AgentID
	}
	var rows []models.Agent
	if err := tx.Where("tenant_id = ? AND id IN ?", tenant, ids).Find(&rows).Error; err != nil {
		return fmt.Errorf("review: read agents: %w", err)
	}
	status := make(map[string]string, len(rows))
	for _, r := range rows {
		status[r.ID] = r.Status
	}
	for _, id := range ids {
		st, ok := status[id]
		if !ok {
			return agentNotFound(id)
		}
		if st != string(work.AgentActive) {
			return errs.Newf(errs.CodeConflict, "agent %q is %s: only an active agent is invited to a review", id, st).
				WithDetails(map[string]any{"agent_id": id, "agent_status": st})
		}
	}
	return nil
}

func agentNotFound(id string) error { return errs.Newf(errs.CodeNotFound, "agent %q not found", id) }

// lockTask reads a task of tenant ("" for any) and locks its row until tx
// ends; deleted is set to find it deleted too (the task of a session the caller
// may already see).
func lockTask(tx *gorm.DB, tenant, id string, deleted bool) (models.Task, error) {
	var row models.Task
	q := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Where("id = ?", id)
	if tenant != "" {
		q = q.Where("tenant_id = ?", tenant)
	}
	if !deleted {
		q = q.Where("deleted_at IS NULL")
	}
	err := q.Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, errs.Newf(errs.CodeNotFound, "task %q not found", id)
	}
	if err != nil {
		return row, fmt.Errorf("review: lock task %s: %w", id, err)
	}
	return row, nil
}

// Get returns a session of tenant ("" for any) with its votes.
func (s *Service) Get(ctx context.Context, tenant, id string) (Review, error) {
	db := s.db.WithContext(ctx)
	row, err := findReview(db, tenant, id, false)
	if err != nil {
		return Review{}, err
	}
	votes, err := votesOf(db, []string{row.ID})
	if err != nil {
		return Review{}, err
	}
	return reviewOf(row, votes[row.ID]), nil
}

func findReview(db *gorm.DB, tenant, id string, lock bool) (models.Review, error) {
	if lock {
		db = db.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	return tenantrow.Find[models.Review](db, tenant, id, reviewNotFound)
}

func reviewNotFound(id string) error { return errs.Newf(errs.CodeNotFound, "review %q not found", id) }

// votesOf reads the votes of sessions, oldest first, by session id.
func votesOf(db *gorm.DB, ids []string) (map[string][]models.ReviewVote, error) {
	out := make(map[string][]models.ReviewVote, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []models.ReviewVote
	if err := db.Where("review_id IN ?", ids).Order("created_at, agent_id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("review: read votes: %w", err)
	}
	for _, r := range rows {
		out[r.ReviewID] = append(out[r.ReviewID], r)
	}
	return out, nil
}

// Filter selects sessions; empty fields do not filter.
type Filter struct {
	// TenantID is the tenant listed; "" lists every tenant.
	TenantID string
	TaskID   string
	Status   Status
	Cursor   string
	Limit    int
}

// List returns sessions newest first with keyset paging, each with its
// votes (one query for the page's votes).
func (s *Service) List(ctx context.Context, f Filter) (cursor.Page[Review], error) {
	var fe fieldErrors
	if f.TaskID != "" && !tenantrow.ValidUUID(f.TaskID) {
		fe.Add("task_id", "must be a task id (a UUID)")
	}
	switch f.Status {
	case "", StatusOpen, StatusCompleted, StatusFailed:
	default:
		fe.Add("status", "must be one of: open, completed, failed")
	}
	if err := fe.Err(); err != nil {
		return cursor.Page[Review]{}, err
	}
	keys, err := cursor.Parse(f.Cursor, f.Limit, func(id string) (any, bool) { return id, tenantrow.ValidUUID(id) })
	if err != nil {
		return cursor.Page[Review]{}, err
	}
	db := s.db.WithContext(ctx)
	q := db.Model(&models.Review{})
	if f.TenantID != "" {
		q = q.Where("tenant_id = ?", f.TenantID)
	}
	if f.TaskID != "" {
		q = q.Where("task_id = ?", f.TaskID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	var rows []models.Review
	if err := keys.Apply(q).Find(&rows).Error; err != nil {
		return cursor.Page[Review]{}, fmt.Errorf("review: list: %w", err)
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	votes, err := votesOf(db, ids)
	if err != nil {
		return cursor.Page[Review]{}, err
	}
	return cursor.Cut(keys, rows, func(r models.Review) (time.Time, string) { return r.CreatedAt, r.ID },
		func(r models.Review) Review { return reviewOf(r, votes[r.ID]) }), nil
}
