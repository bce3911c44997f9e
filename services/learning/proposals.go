package learning

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/llmcheck"
	"github.com/golden-architecture/control-plane/services/tenantrow"
	"github.com/golden-architecture/control-plane/services/work"
)

// Status is where a prompt version stands.
type Status string

// The approval statuses of a prompt version.
const (
	StatusAutoApproved  Status = "auto_approved"
	StatusPendingReview Status = "pending_review"
	StatusHumanApproved Status = "human_approved"
	StatusRejected      Status = "rejected"
)

// approved are the statuses of a version that may be current.
var approved = []string{string(StatusAutoApproved), string(StatusHumanApproved)}

// The reasons a proposal is refused.
const (
	RefusedDailyCap = "daily_cap"
	RefusedCooldown = "cooldown"
)

// DecisionRefused is the decision label of a refused proposal (metrics,
// audit); the other decisions are the Status of the stored version.
const DecisionRefused = "refused"

// Prompt is one version of a role's prompt.
type Prompt struct {
	ID                 string
	TenantID           string
	Role               work.AgentRole
	Version            int
	Text               string
	AutoLearned        bool
	LearnedFromPattern string
	Status             Status
	CreatedBy          string
	CreatedAt          time.Time
	ApprovedBy         string
	ApprovedAt         *time.Time
	RejectionReason    string
	// LLMData is the validated raw answer of the proposal (nil when none
	// was sent) and Warnings the validator's warnings about it.
	LLMData  any
	Warnings []llmcheck.Warning
	// Current is set when this is the role's newest approved version.
	Current bool
}

func promptOf(r models.AgentPrompt) Prompt {
	p := Prompt{
		ID: r.ID, TenantID: r.TenantID, Role: work.AgentRole(r.AgentRole), Version: r.Version, Text: r.PromptText,
		AutoLearned: r.AutoLearned, LearnedFromPattern: r.LearnedFromPattern, Status: Status(r.ApprovalStatus),
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), ApprovedBy: deref(r.ApprovedBy),
		RejectionReason: deref(r.RejectionReason), Warnings: []llmcheck.Warning{},
	}
	if r.ApprovedAt != nil {
		at := r.ApprovedAt.UTC()
		p.ApprovedAt = &at
	}
	if r.LLMCheck != nil {
		p.LLMData, p.Warnings = llmcheck.FromStored(*r.LLMCheck)
	}
	return p
}

// ProposalInput is a prompt an agent learned.
type ProposalInput struct {
	TenantID           string
	Role               work.AgentRole
	Text               string
	LearnedFromPattern string
	// LLMResponse is the raw answer of the pattern analysis the prompt was
	// learned from, optional; it must pass the patterns schema.
	LLMResponse string
}

// Refusal is why a proposal was refused and when the role may propose
// again; the error of a refused Propose carries it (RefusalOf).
type Refusal struct {
	Reason     string
	RetryAfter time.Duration
}

// RetryAfterSeconds is the Retry-After header of a refused proposal: whole
// seconds, rounded up, at least 1.
func (r Refusal) RetryAfterSeconds() int64 {
	return max(1, int64(math.Ceil(r.RetryAfter.Seconds())))
}

type refusedError struct {
	err     *errs.Error
	refusal Refusal
}

func (e *refusedError) Error() string { return e.err.Error() }

func (e *refusedError) Unwrap() error { return e.err }

// RefusalOf returns the refusal a Propose error carries.
func RefusalOf(err error) (Refusal, bool) {
	var r *refusedError
	if errors.As(err, &r) {
		return r.refusal, true
	}
	return Refusal{}, false
}

// Propose decides on a learned prompt atomically under the role's
// governance row lock: refused when the role's accepted proposals since
// midnight UTC reached max_updates_per_day or its last one is less than
// cooldown_hours old (a 429 rate_limit.exceeded error carrying a Refusal;
// the refusal is audited all the same); otherwise stored as the role's next
// version, pending_review when the rule requires a human, else
// auto_approved and current at once. An accepted proposal counts against
// the cap and starts the cooldown whatever a human later decides.
func (s *Service) Propose(ctx context.Context, actor audit.Actor, in ProposalInput) (Prompt, error) {
	var f fieldErrors
	f.role("agent_role", in.Role)
	f.Text("prompt_text", in.Text, MaxPromptLength, true)
	f.Text("learned_from_pattern", in.LearnedFromPattern, MaxPatternLength, true)
	if err := f.Err(); err != nil {
		return Prompt{}, err
	}
	var check *models.JSONMap
	var warnings []llmcheck.Warning
	if in.LLMResponse != "" {
		res, err := s.checker.Check(llmcheck.KindPatterns, in.LLMResponse)
		if err != nil {
			return Prompt{}, err
		}
		warnings = res.Warnings
		stored := models.JSONMap(llmcheck.Stored(res.Data, res.Warnings))
		check = &stored
	}
	var out Prompt
	var refusal *Refusal
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		gov, err := s.lockGovernance(ctx, tx, actor, in.TenantID, in.Role)
		if err != nil {
			return err
		}
		now := s.now()
		today, err := countSince(tx, in.TenantID, in.Role, dayStart(now))
		if err != nil {
			return err
		}
		refusal = decide(gov, today, now)
		details := map[string]any{
			"tenant_id": in.TenantID, "agent_role": string(in.Role), "updates_today": today,
			"learned_from_pattern": in.LearnedFromPattern, "warnings": len(warnings),
		}
		if refusal != nil {
			details["decision"], details["reason"] = DecisionRefused, refusal.Reason
			details["retry_after_seconds"] = refusal.RetryAfterSeconds()
			return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
				Action: ActionProposalRefuse, ResourceType: resourceGovernance, ResourceID: in.TenantID + "/" + string(in.Role), Details: details,
			}}})
		}
		var last struct{ V int }
		if err := tx.Model(&models.AgentPrompt{}).Select("COALESCE(MAX(version), 0) AS v").
			Where("tenant_id = ? AND agent_role = ?", in.TenantID, string(in.Role)).Scan(&last).Error; err != nil {
			return fmt.Errorf("learning: last version of %s/%s: %w", in.TenantID, in.Role, err)
		}
		row := models.AgentPrompt{
			ID: uuid.NewString(), TenantID: in.TenantID, AgentRole: string(in.Role), Version: last.V + 1,
			PromptText: in.Text, AutoLearned: true, LearnedFromPattern: in.LearnedFromPattern, LLMCheck: check,
			ApprovalStatus: string(StatusAutoApproved), CreatedBy: actor.PrincipalID, CreatedAt: now,
		}
		if gov.RequireHumanApproval {
			row.ApprovalStatus = string(StatusPendingReview)
		} else {
			row.ApprovedAt = &now
		}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("learning: store proposal: %w", err)
		}
		if err := tx.Model(&models.LearningGovernance{}).Where("tenant_id = ? AND agent_role = ?", in.TenantID, string(in.Role)).
			Update("last_update_at", now).Error; err != nil {
			return fmt.Errorf("learning: mark the update of %s/%s: %w", in.TenantID, in.Role, err)
		}
		out = promptOf(row)
		out.Warnings = orNone(warnings)
		out.Current = row.ApprovalStatus == string(StatusAutoApproved)
		details["decision"], details["version"] = row.ApprovalStatus, row.Version
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionProposalCreate, ResourceType: resourcePrompt, ResourceID: row.ID, Details: details,
		}}})
	})
	if err != nil {
		return Prompt{}, err
	}
	if refusal != nil {
		s.metrics.decided(in.Role, DecisionRefused)
		return Prompt{}, &refusedError{refusal: *refusal, err: errs.Newf(errs.CodeRateLimited,
			"role %q may not learn a new prompt yet (%q); retry in %d s", in.Role, refusal.Reason, refusal.RetryAfterSeconds()).
			WithDetails(map[string]any{"agent_role": string(in.Role), "reason": refusal.Reason, "retry_after_seconds": refusal.RetryAfterSeconds()})}
	}
	s.metrics.decided(in.Role, string(out.Status))
	return out, nil
}

func orNone(ws []llmcheck.Warning) []llmcheck.Warning {
	if ws == nil {
		return []llmcheck.Warning{}
	}
	return ws
}

// dayStart is midnight UTC of now's day: the daily cap counts from there.
func dayStart(now time.Time) time.Time { return now.UTC().Truncate(24 * time.Hour) }

// decide applies a role's rule to a proposal at now, given the role's
// accepted proposals today: nil accepts it.
func decide(g models.LearningGovernance, today int64, now time.Time) *Refusal {
	var wait time.Duration
	reason := ""
	if today >= int64(g.MaxUpdatesPerDay) {
		reason, wait = RefusedDailyCap, dayStart(now).Add(24*time.Hour).Sub(now)
	}
	if g.LastUpdateAt != nil {
		if until := g.LastUpdateAt.Add(time.Duration(g.CooldownHours) * time.Hour).Sub(now); until > 0 {
			if reason == "" {
				reason = RefusedCooldown
			}
			wait = max(wait, until)
		}
	}
	if reason == "" {
		return nil
	}
	return &Refusal{Reason: reason, RetryAfter: wait}
}

// countSince counts a role's accepted proposals since t.
func countSince(db *gorm.DB, tenant string, role work.AgentRole, t time.Time) (int64, error) {
	var n int64
	err := db.Model(&models.AgentPrompt{}).
		Where("tenant_id = ? AND agent_role = ? AND auto_learned = ? AND created_at >= ?", tenant, string(role), true, t).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("learning: count proposals of %s/%s: %w", tenant, role, err)
	}
	return n, nil
}

// Approve approves a pending proposal of tenant ("" for any) exactly once:
// one conditional update, so of concurrent decisions one wins and the
// others, like any later one, are 409 state.conflict.
func (s *Service) Approve(ctx context.Context, actor audit.Actor, tenant, id string) (Prompt, error) {
	return s.review(ctx, actor, tenant, id, StatusHumanApproved, "")
}

// Reject rejects a pending proposal exactly once, with a reason.
func (s *Service) Reject(ctx context.Context, actor audit.Actor, tenant, id, reason string) (Prompt, error) {
	var f fieldErrors
	f.Text("reason", reason, MaxReasonLength, true)
	if err := f.Err(); err != nil {
		return Prompt{}, err
	}
	return s.review(ctx, actor, tenant, id, StatusRejected, reason)
}

func (s *Service) review(ctx context.Context, actor audit.Actor, tenant, id string, to Status, reason string) (Prompt, error) {
	var out Prompt
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, err := findPrompt(tx, tenant, id)
		if err != nil {
			return err
		}
		now := s.now()
		set := map[string]any{"approval_status": string(to)}
		action := ActionProposalApprove
		if to == StatusHumanApproved {
			set["approved_by"], set["approved_at"] = actor.PrincipalID, now
		} else {
			set["rejection_reason"] = reason
			action = ActionProposalReject
		}
		res := tx.Model(&models.AgentPrompt{}).Where("id = ? AND approval_status = ?", id, string(StatusPendingReview)).Updates(set)
		if res.Error != nil {
			return fmt.Errorf("learning: decide proposal %s: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			if err := tx.Where("id = ?", id).Take(&row).Error; err != nil {
				return fmt.Errorf("learning: read proposal %s: %w", id, err)
			}
			return errs.Newf(errs.CodeConflict, "proposal is %s: only a pending_review proposal can be approved or rejected", row.ApprovalStatus).
				WithDetails(map[string]any{"approval_status": row.ApprovalStatus})
		}
		if err := tx.Where("id = ?", id).Take(&row).Error; err != nil {
			return fmt.Errorf("learning: read proposal %s: %w", id, err)
		}
		out = promptOf(row)
		if out.Current, err = isCurrent(tx, row); err != nil {
			return err
		}
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: action, ResourceType: resourcePrompt, ResourceID: row.ID, Details: map[string]any{
				"tenant_id": row.TenantID, "agent_role": row.AgentRole, "version": row.Version,
				"decision": string(to), "reason": reason,
			},
		}}})
	})
	if err != nil {
		return Prompt{}, err
	}
	s.metrics.decided(out.Role, string(to))
	return out, nil
}

func isCurrent(db *gorm.DB, row models.AgentPrompt) (bool, error) {
	cur, err := currentVersions(db, row.TenantID, row.AgentRole)
	if err != nil {
		return false, err
	}
	return cur[row.TenantID+"/"+row.AgentRole] == row.Version, nil
}

// currentVersions maps "tenant/role" to the role's newest approved version,
// for tenant ("" for any) and role ("" for any).
func currentVersions(db *gorm.DB, tenant, role string) (map[string]int, error) {
	var rows []struct {
		TenantID  string
		AgentRole string
		V         int
	}
	q := db.Model(&models.AgentPrompt{}).Select("tenant_id, agent_role, MAX(version) AS v").
		Where("approval_status IN ?", approved).Group("tenant_id, agent_role")
	if tenant != "" {
		q = q.Where("tenant_id = ?", tenant)
	}
	if role != "" {
		q = q.Where("agent_role = ?", role)
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("learning: current prompt versions: %w", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.TenantID+"/"+r.AgentRole] = r.V
	}
	return out, nil
}

func findPrompt(db *gorm.DB, tenant, id string) (models.AgentPrompt, error) {
	return tenantrow.Find[models.AgentPrompt](db, tenant, id, proposalNotFound)
}

func proposalNotFound(id string) error {
	return errs.Newf(errs.CodeNotFound, "proposal %q not found", id)
}

// PromptFilter selects prompt versions.
type PromptFilter struct {
	// TenantID is the tenant listed; "" lists every tenant.
	TenantID string
	Role     work.AgentRole
	Status   Status
	Cursor   string
	Limit    int
}

// ListPrompts returns prompt versions newest first with keyset paging, each
// marked current when it is its role's newest approved version.
func (s *Service) ListPrompts(ctx context.Context, f PromptFilter) (cursor.Page[Prompt], error) {
	var fe fieldErrors
	if f.Role != "" {
		fe.role("agent_role", f.Role)
	}
	switch f.Status {
	case "", StatusAutoApproved, StatusPendingReview, StatusHumanApproved, StatusRejected:
	default:
		fe.Add("approval_status", "must be one of: auto_approved, pending_review, human_approved, rejected")
	}
	if err := fe.Err(); err != nil {
		return cursor.Page[Prompt]{}, err
	}
	keys, err := cursor.Parse(f.Cursor, f.Limit, func(id string) (any, bool) { return id, tenantrow.ValidUUID(id) })
	if err != nil {
		return cursor.Page[Prompt]{}, err
	}
	db := s.db.WithContext(ctx)
	q := db.Model(&models.AgentPrompt{})
	if f.TenantID != "" {
		q = q.Where("tenant_id = ?", f.TenantID)
	}
	if f.Role != "" {
		q = q.Where("agent_role = ?", string(f.Role))
	}
	if f.Status != "" {
		q = q.Where("approval_status = ?", string(f.Status))
	}
	var rows []models.AgentPrompt
	if err := keys.Apply(q).Find(&rows).Error; err != nil {
		return cursor.Page[Prompt]{}, fmt.Errorf("learning: list prompts: %w", err)
	}
	cur, err := currentVersions(db, f.TenantID, string(f.Role))
	if err != nil {
		return cursor.Page[Prompt]{}, err
	}
	return cursor.Cut(keys, rows, func(r models.AgentPrompt) (time.Time, string) { return r.CreatedAt, r.ID }, func(r models.AgentPrompt) Prompt {
		p := promptOf(r)
		p.Current = cur[r.TenantID+"/"+r.AgentRole] == r.Version && (p.Status == StatusAutoApproved || p.Status == StatusHumanApproved)
		return p
	}), nil
}

// RoleStats is what the original learning_stats and governance_status
// views gave for a role of a tenant.
type RoleStats struct {
	Governance
	UpdatesToday   int64
	PendingReviews int64
	// CurrentVersion is the role's newest approved version, 0 when none.
	CurrentVersion int
	// NextAllowedAt is when the role may next propose; now or earlier
	// means at once.
	NextAllowedAt time.Time
	// CanUpdateNow is set when a proposal now would be accepted.
	CanUpdateNow bool
}

// Stats returns the learning stats of every role of tenant.
func (s *Service) Stats(ctx context.Context, tenant string) ([]RoleStats, error) {
	govs, err := s.ListGovernance(ctx, tenant)
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)
	now := s.now()
	cur, err := currentVersions(db, tenant, "")
	if err != nil {
		return nil, err
	}
	out := make([]RoleStats, 0, len(govs))
	for _, g := range govs {
		today, err := countSince(db, tenant, g.Role, dayStart(now))
		if err != nil {
			return nil, err
		}
		var pending int64
		if err := db.Model(&models.AgentPrompt{}).Where("tenant_id = ? AND agent_role = ? AND approval_status = ?",
			tenant, string(g.Role), string(StatusPendingReview)).Count(&pending).Error; err != nil {
			return nil, fmt.Errorf("learning: count pending reviews: %w", err)
		}
		next := now
		row := models.LearningGovernance{MaxUpdatesPerDay: g.MaxUpdatesPerDay, CooldownHours: g.CooldownHours, LastUpdateAt: g.LastUpdateAt}
		r := decide(row, today, now)
		if r != nil {
			next = now.Add(r.RetryAfter)
		}
		out = append(out, RoleStats{Governance: g, UpdatesToday: today, PendingReviews: pending,
			CurrentVersion: cur[tenant+"/"+string(g.Role)], NextAllowedAt: next, CanUpdateNow: r == nil})
	}
	return out, nil
}
