package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/llmcheck"
	"github.com/golden-architecture/control-plane/services/work"
)

// VoteInput is an invited agent's vote: a Decision with its Reasoning, or
// the agent's Raw LLM answer, from which both are taken.
type VoteInput struct {
	// TenantID is the tenant the caller may see ("" for any).
	TenantID  string
	ReviewID  string
	AgentID   string
	Decision  Decision
	Reasoning string
	// Raw is the agent's raw LLM answer: its JSON must pass the consensus
	// schema (POST /validate/consensus); the data and the validator's
	// warnings are kept with the vote.
	Raw string
}

// reached reports whether weight is at least quorum × total, allowing for
// the rounding of sums of decimal weights.
func reached(weight, total, quorum float64) bool {
	return weight >= quorum*total-1e-9*total
}

// outcome is the decision a session's votes make: completed once the
// approvals reach the quorum, failed once even every vote still missing
// could not, open otherwise (every invited agent having voted, one of the
// first two holds).
func outcome(approve, voted, total, quorum float64) Status {
	switch {
	case reached(approve, total, quorum):
		return StatusCompleted
	case !reached(approve+(total-voted), total, quorum):
		return StatusFailed
	default:
		return StatusOpen
	}
}

// CastVote records an invited agent's vote on an open session, once per
// agent: a second vote, concurrent ones included, is 409, as is a vote on a
// decided session. An agent that is not invited is 404 when it is no agent
// of the session's tenant, 422 otherwise. The vote that decides the session
// decides it in its own transaction, with the escalation of a failure.
func (s *Service) CastVote(ctx context.Context, actor audit.Actor, in VoteInput) (Review, Vote, error) {
	var f fieldErrors
	if !agentPattern.MatchString(in.AgentID) {
		f.Add("agent_id", "must be "+work.SlugRule)
	}
	var confidence *float64
	var check *models.JSONMap
	var warnings []llmcheck.Warning
	switch {
	case in.Raw != "" && (in.Decision != "" || in.Reasoning != ""):
		f.Add("raw", "send either vote and reasoning or raw, not both")
	case in.Raw != "":
		res, err := s.checker.Check(llmcheck.KindConsensus, in.Raw)
		if err != nil {
			return Review{}, Vote{}, err
		}
		data, _ := res.Data.(map[string]any)
		decision, _ := data["decision"].(string)
		reasoning, _ := data["reasoning"].(string)
		in.Decision, in.Reasoning = Decision(decision), reasoning
		if n, ok := data["confidence"].(json.Number); ok {
			if c, err := n.Float64(); err == nil {
				confidence = &c
			}
		}
		warnings = res.Warnings
		stored := models.JSONMap(llmcheck.Stored(data, res.Warnings))
		check = &stored
	case in.Decision == "":
		f.Add("vote", "is required (approve, reject or conditional) unless raw is sent")
	}
	if in.Decision != "" && !slices.Contains([]Decision{Approve, Reject, Conditional}, in.Decision) {
		f.Add("vote", "must be one of: approve, reject, conditional")
	}
	f.Text("reasoning", in.Reasoning, MaxReasoningLength, false)
	if err := f.Err(); err != nil {
		return Review{}, Vote{}, err
	}
	var out Review
	var vote Vote
	var done func()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, err := findReview(tx, in.TenantID, in.ReviewID, true)
		if err != nil {
			return err
		}
		if row.Status != string(StatusOpen) {
			return errs.Newf(errs.CodeConflict, "review is %s: it takes no more votes", row.Status).
				WithDetails(map[string]any{"status": row.Status})
		}
		i := slices.IndexFunc(row.Invited, func(inv models.ReviewInvite) bool { return inv.AgentID == in.AgentID })
		if i < 0 {
			return notInvited(tx, row, in.AgentID)
		}
		v := models.ReviewVote{
			ReviewID: row.ID, AgentID: in.AgentID, TenantID: row.TenantID, Weight: row.Invited[i].Weight,
			Vote: string(in.Decision), Reasoning: in.Reasoning, Confidence: confidence, LLMCheck: check,
			CreatedBy: actor.PrincipalID, CreatedAt: s.now(),
		}
		if err := tx.Create(&v).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return alreadyVoted(in.AgentID)
			}
			return fmt.Errorf("review: store vote: %w", err)
		}
		vote = voteOf(v)
		vote.Warnings = orNone(warnings)
		votes, err := votesOf(tx, []string{row.ID})
		if err != nil {
			return err
		}
		cur := reviewOf(row, votes[row.ID])
		if err := s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionVote, ResourceType: resourceReview, ResourceID: row.ID, Details: map[string]any{
				"tenant_id": row.TenantID, "task_id": row.TaskID, "agent_id": in.AgentID, "vote": string(in.Decision),
				"weight": v.Weight, "raw": in.Raw != "", "warnings": len(warnings),
			},
		}}}); err != nil {
			return err
		}
		out = cur
		status := outcome(cur.ApproveWeight, cur.VotedWeight, cur.TotalWeight, cur.Quorum)
		if status == StatusOpen {
			return nil
		}
		item, d, err := s.decide(ctx, tx, actor, &cur, status)
		if err != nil {
			return err
		}
		out, done = cur, d
		return s.audit.RecordAll(ctx, tx, []audit.Item{item})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		// A concurrent vote of the same agent that the session's row lock
		// did not serialize (the unique key is the last guard).
		err = alreadyVoted(in.AgentID)
	}
	if err != nil {
		return Review{}, Vote{}, err
	}
	if out.Status != StatusOpen {
		s.metrics.outcome(out.Status)
	}
	if done != nil {
		done()
	}
	return out, vote, nil
}

func alreadyVoted(agent string) error {
	return errs.Newf(errs.CodeConflict, "agent %q has voted on this review already: one vote per agent", agent).
		WithDetails(map[string]any{"agent_id": agent})
}

// notInvited is the error of a vote by an agent the session did not
// invite: 404 when the session's tenant has no such agent (as for any
// unknown resource), 422 naming the invited ones otherwise.
func notInvited(tx *gorm.DB, r models.Review, agent string) error {
	var n int64
	if err := tx.Model(&models.Agent{}).Where("tenant_id = ? AND id = ?", r.TenantID, agent).Count(&n).Error; err != nil {
		return fmt.Errorf("review: read agent %s: %w", agent, err)
	}
	if n == 0 {
		return agentNotFound(agent)
	}
	ids := make([]string, len(r.Invited))
	for i, inv := range r.Invited {
		ids[i] = inv.AgentID
	}
	return errs.Validation(errs.FieldError{Field: "agent_id", Message: fmt.Sprintf(
		"agent %q is not invited to this review; invited: %s", agent, strings.Join(ids, ", "))})
}

// decide closes the session cur (its votes read in tx) with status: the
// score is stored, and a failure escalates the task as agent_conflict when
// it is still in progress (a task that ended meanwhile has nothing left to
// escalate). It returns the decision's audit item and the escalation's
// done (nil when none was opened).
func (s *Service) decide(ctx context.Context, tx *gorm.DB, actor audit.Actor, cur *Review, status Status) (audit.Item, func(), error) {
	now := s.now()
	details := map[string]any{
		"tenant_id": cur.TenantID, "task_id": cur.TaskID, "quorum": cur.Quorum, "consensus_score": cur.Score,
		"approve_weight": cur.ApproveWeight, "voted_weight": cur.VotedWeight, "total_weight": cur.TotalWeight,
	}
	set := map[string]any{"status": string(status), "consensus_score": cur.Score, "decided_at": now}
	action := ActionComplete
	var done func()
	task, err := lockTask(tx, "", cur.TaskID, true)
	if err != nil {
		return audit.Item{}, nil, err
	}
	cur.TaskState = work.State(task.State)
	if status == StatusFailed {
		action = ActionFail
		if task.DeletedAt == nil && slices.Contains(reviewable, work.State(task.State)) {
			e, d, err := s.escalations.OpenEscalationTx(ctx, tx, actor, work.OpenInput{
				TaskID: cur.TaskID, PatternType: work.PatternAgentConflict,
				Reason: fmt.Sprintf("peer review %s failed: the approvals weigh %s of %s (consensus %.2f), below the quorum %.2f",
					cur.ID, weight(cur.ApproveWeight), weight(cur.TotalWeight), cur.Score, cur.Quorum),
				SuggestedFix: dissent(cur.Votes),
			})
			if err != nil {
				return audit.Item{}, nil, err
			}
			done, cur.EscalationID, cur.TaskState = d, e.ID, e.TaskState
			set["escalation_id"] = e.ID
			details["escalation_id"] = e.ID
		} else {
			details["escalation_skipped"] = fmt.Sprintf("task is %s", task.State)
		}
	}
	res := tx.Model(&models.Review{}).Where("id = ? AND status = ?", cur.ID, string(StatusOpen)).Updates(set)
	if res.Error != nil {
		return audit.Item{}, nil, fmt.Errorf("review: decide %s: %w", cur.ID, res.Error)
	}
	if res.RowsAffected != 1 {
		return audit.Item{}, nil, errs.New(errs.CodeConflict, "review was decided meanwhile: it takes no more votes")
	}
	cur.Status, cur.DecidedAt = status, &now
	details["outcome"], details["task_state"] = string(status), string(cur.TaskState)
	return audit.Item{Actor: actor, Entry: audit.Entry{Action: action, ResourceType: resourceReview, ResourceID: cur.ID, Details: details}}, done, nil
}

// dissent is the suggested fix of a failed session's escalation: who did
// not approve.
func dissent(votes []Vote) string {
	by := map[Decision][]string{}
	for _, v := range votes {
		if v.Decision != Approve {
			by[v.Decision] = append(by[v.Decision], v.AgentID)
		}
	}
	var parts []string
	for _, d := range []Decision{Reject, Conditional} {
		if len(by[d]) > 0 {
			parts = append(parts, string(d)+" by "+strings.Join(by[d], ", "))
		}
	}
	if len(parts) == 0 {
		return "Too few approvals: settle the review with the agents that did not vote."
	}
	return "Settle the disagreement (" + strings.Join(parts, "; ") + ") and review the task again."
}

func weight(w float64) string { return fmt.Sprintf("%g", float64(int64(w*1e6+0.5))/1e6) }

func orNone(ws []llmcheck.Warning) []llmcheck.Warning {
	if ws == nil {
		return []llmcheck.Warning{}
	}
	return ws
}
