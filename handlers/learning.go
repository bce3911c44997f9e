package handlers

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/learning"
	"github.com/golden-architecture/control-plane/services/llmcheck"
	"github.com/golden-architecture/control-plane/services/work"
)

// LearningService is what the learning routes need (services/learning
// implements it).
type LearningService interface {
	ListGovernance(ctx context.Context, tenant string) ([]learning.Governance, error)
	SetGovernance(ctx context.Context, actor audit.Actor, tenant string, role work.AgentRole, rule learning.Rule) (learning.Governance, error)
	Propose(ctx context.Context, actor audit.Actor, in learning.ProposalInput) (learning.Prompt, error)
	Approve(ctx context.Context, actor audit.Actor, tenant, id string) (learning.Prompt, error)
	Reject(ctx context.Context, actor audit.Actor, tenant, id, reason string) (learning.Prompt, error)
	ListPrompts(ctx context.Context, f learning.PromptFilter) (cursor.Page[learning.Prompt], error)
	Stats(ctx context.Context, tenant string) ([]learning.RoleStats, error)
}

var _ LearningService = (*learning.Service)(nil)

// Learning serves /api/v1/prompts and /api/v1/learning: the versioned
// prompts of each agent role, their governance and the proposals agents
// make from what they learned. Everything is per tenant.
type Learning struct {
	Service LearningService
	Tenants TenantResolver
}

// GovernanceResponse is the learning governance of one agent role.
type GovernanceResponse struct {
	TenantID             string `json:"tenant_id" example:"acme"`
	AgentRole            string `json:"agent_role" enums:"security,developer,reviewer,tester,architect" example:"developer"`
	MaxUpdatesPerDay     int    `json:"max_updates_per_day" example:"5"`
	CooldownHours        int    `json:"cooldown_hours" example:"2"`
	RequireHumanApproval bool   `json:"require_human_approval" example:"false"`
	// LastUpdateAt is the time of the role's last accepted proposal.
	LastUpdateAt *time.Time `json:"last_update_at" example:"2026-01-02T15:04:05Z" format:"date-time" extensions:"x-nullable"`
	// Default is true while the role has the seeded default rule that no
	// one has written; updated_by and updated_at are null then.
	Default   bool       `json:"default" example:"false"`
	UpdatedBy *string    `json:"updated_by" example:"user:0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11" extensions:"x-nullable"`
	UpdatedAt *time.Time `json:"updated_at" example:"2026-01-02T15:04:05Z" format:"date-time" extensions:"x-nullable"`
} // @name LearningGovernance

// GovernanceList is the governance of every agent role of a tenant.
type GovernanceList struct {
	Items []GovernanceResponse `json:"items"`
} // @name LearningGovernanceList

// GovernanceBody is the body of PUT /api/v1/learning/governance/{role}.
type GovernanceBody struct {
	// TenantID: a caller bound to a tenant may omit it or name its own; a
	// platform principal must name one.
	TenantID             string `json:"tenant_id,omitempty" binding:"ident,max=128" maxLength:"64" example:"acme"`
	MaxUpdatesPerDay     *int   `json:"max_updates_per_day" binding:"required" minimum:"0" maximum:"1000" example:"5"`
	CooldownHours        *int   `json:"cooldown_hours" binding:"required" minimum:"0" maximum:"720" example:"2"`
	RequireHumanApproval *bool  `json:"require_human_approval" binding:"required" example:"false"`
} // @name LearningGovernanceUpdate

// ProposalBody is the body of POST /api/v1/learning/proposals.
type ProposalBody struct {
	// TenantID: a caller bound to a tenant may omit it or name its own; a
	// platform principal must name one.
	TenantID   string `json:"tenant_id,omitempty" binding:"ident,max=128" maxLength:"64" example:"acme"`
	AgentRole  string `json:"agent_role" binding:"required,ident,max=32" enums:"security,developer,reviewer,tester,architect" example:"developer"`
	PromptText string `json:"prompt_text" binding:"required,max=80000" minLength:"1" maxLength:"20000" example:"You are a developer agent. Run the tests before you hand a task to review."`
	// LearnedFromPattern names the pattern the prompt was learned from.
	LearnedFromPattern string `json:"learned_from_pattern" binding:"required,max=8000" minLength:"1" maxLength:"2000" example:"skill_gap: tasks reached review with failing tests"`
	// LLMResponse is the raw answer of the pattern analysis, optional: its
	// JSON must pass the patterns schema of POST /validate/patterns; the
	// validated data and its warnings are kept with the proposal.
	LLMResponse string `json:"llm_response,omitempty" binding:"max=262144" maxLength:"262144" example:"[{\"pattern_type\":\"skill_gap\",\"root_cause\":\"no tests\",\"suggested_fix\":\"run the tests\",\"confidence\":0.8}]"`
} // @name LearningProposal

// RejectBody is the body of POST /api/v1/learning/proposals/{id}/reject.
type RejectBody struct {
	Reason string `json:"reason" binding:"required,max=8000" minLength:"1" maxLength:"2000" example:"Too broad: it would change every developer's behaviour."`
} // @name LearningReject

// PromptResponse is one version of an agent role's prompt.
type PromptResponse struct {
	ID                 string `json:"id" format:"uuid" example:"3b1f0c2e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"`
	TenantID           string `json:"tenant_id" example:"acme"`
	AgentRole          string `json:"agent_role" enums:"security,developer,reviewer,tester,architect" example:"developer"`
	Version            int    `json:"version" example:"3"`
	PromptText         string `json:"prompt_text" example:"You are a developer agent. Run the tests before you hand a task to review."`
	AutoLearned        bool   `json:"auto_learned" example:"true"`
	LearnedFromPattern string `json:"learned_from_pattern" example:"skill_gap: tasks reached review with failing tests"`
	ApprovalStatus     string `json:"approval_status" enums:"auto_approved,pending_review,human_approved,rejected" example:"auto_approved"`
	// Current is true for the role's newest approved version, the one its
	// agents use.
	Current   bool      `json:"current" example:"true"`
	CreatedBy string    `json:"created_by" example:"user:0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11"`
	CreatedAt time.Time `json:"created_at" example:"2026-01-02T15:04:05.123456Z" format:"date-time"`
	// ApprovedBy is the human who approved it (null when auto-approved,
	// pending or rejected); ApprovedAt is when it was approved.
	ApprovedBy      *string    `json:"approved_by" example:"user:7a2d9c41-1b3e-4f5a-8c6d-9e0f1a2b3c4d" extensions:"x-nullable"`
	ApprovedAt      *time.Time `json:"approved_at" example:"2026-01-02T15:04:05Z" format:"date-time" extensions:"x-nullable"`
	RejectionReason *string    `json:"rejection_reason" example:"Too broad." extensions:"x-nullable"`
	// LLMData is the validated pattern analysis the proposal came with
	// (null when none) and Warnings the validator's warnings about it.
	LLMData  []map[string]any   `json:"llm_data" extensions:"x-nullable"`
	Warnings []llmcheck.Warning `json:"warnings"`
} // @name AgentPrompt

// PromptList is a page of prompt versions, newest first.
type PromptList struct {
	Items []PromptResponse `json:"items"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"next_cursor" example:"eyJ0IjoiMjAyNi0wMS0wMlQxNTowNDowNVoiLCJpZCI6Ii4uLiJ9" extensions:"x-nullable"`
} // @name AgentPromptList

// LearningRoleStats is the learning state of one agent role.
type LearningRoleStats struct {
	GovernanceResponse
	UpdatesToday   int64 `json:"updates_today" example:"1"`
	PendingReviews int64 `json:"pending_reviews" example:"0"`
	// CurrentVersion is the role's newest approved version, 0 when none.
	CurrentVersion int `json:"current_version" example:"3"`
	// NextAllowedAt is when the role may next propose (now when it may at once).
	NextAllowedAt time.Time `json:"next_allowed_at" example:"2026-01-02T17:04:05Z" format:"date-time"`
	// CanUpdateNow is true when a proposal now would be accepted.
	CanUpdateNow bool `json:"can_update_now" example:"false"`
} // @name LearningRoleStats

// LearningStats is the learning state of every agent role of a tenant.
type LearningStats struct {
	TenantID string              `json:"tenant_id" example:"acme"`
	Roles    []LearningRoleStats `json:"roles"`
} // @name LearningStats

// promptListQuery is the query of GET /prompts.
type promptListQuery struct {
	TenantID       string `form:"tenant_id" binding:"omitempty,ident,max=128"`
	AgentRole      string `form:"agent_role" binding:"omitempty,ident,max=32"`
	ApprovalStatus string `form:"approval_status" binding:"omitempty,ident,max=32"`
	Limit          int    `form:"limit" binding:"omitempty,min=1"`
	Cursor         string `form:"cursor" binding:"omitempty,ident,max=512"`
}

// Register implements Resource.
func (h *Learning) Register(api *gin.RouterGroup, _ RouteLimiter) {
	view, approve := middleware.Require(auth.PermLearningView), middleware.Require(auth.PermLearningApprove)
	api.GET("/prompts", middleware.Authenticated(), view, h.ListPrompts)
	g := api.Group("/learning", middleware.Authenticated())
	g.GET("/governance", view, h.ListGovernance)
	g.PUT("/governance/:role", approve, h.SetGovernance)
	g.POST("/proposals", middleware.Require(auth.PermAgentConfigure), h.Propose)
	g.POST("/proposals/:id/approve", approve, h.Approve)
	g.POST("/proposals/:id/reject", approve, h.Reject)
	g.GET("/stats", view, h.Stats)
}

// ListPrompts godoc
//
//	@Summary		List prompt versions
//	@ID			listPrompts
//	@Description	The versions of the agent roles' prompts, newest first, keyset paged (pass next_cursor back as cursor). current marks each role's newest approved version (auto_approved or human_approved): the prompt its agents use. A caller bound to a tenant lists its tenant's prompts (naming another tenant is 404); a platform principal lists every tenant's unless it names one. Needs learning.view.
//	@Tags			learning
//	@Produce		json
//	@Security		BearerAuth
//	@Param			tenant_id		query		string	false	"only this tenant's prompts"					maxlength(128)
//	@Param			agent_role		query		string	false	"only this role's versions"						Enums(security,developer,reviewer,tester,architect)
//	@Param			approval_status	query		string	false	"only versions with this status"				Enums(auto_approved,pending_review,human_approved,rejected)
//	@Param			limit			query		int		false	"page size; larger values are capped at 200"	minimum(1)	maximum(200)	default(50)
//	@Param			cursor			query		string	false	"next_cursor of the previous page"				maxlength(512)
//	@Success		200				{object}	PromptList
//	@Failure		401				{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403				{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404				{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
//	@Failure		422				{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429				{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500				{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503				{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/prompts [get]
func (h *Learning) ListPrompts(c *gin.Context) {
	var q promptListQuery
	if !bindQuery(c, &q) {
		return
	}
	tenant, ok := tenantFilterOf(c, h.Tenants, q.TenantID)
	if !ok {
		return
	}
	p, err := h.Service.ListPrompts(c.Request.Context(), learning.PromptFilter{
		TenantID: tenant, Role: work.AgentRole(q.AgentRole), Status: learning.Status(q.ApprovalStatus), Cursor: q.Cursor, Limit: q.Limit,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := PromptList{Items: convert(p.Items, promptResponse), NextCursor: nextCursor(p.NextCursor)}
	c.JSON(http.StatusOK, out)
}

// ListGovernance godoc
//
//	@Summary		Show the learning governance
//	@ID			listLearningGovernance
//	@Description	The rule of every agent role of a tenant (security, developer, reviewer, tester, architect): how many learned prompts a day, the cooldown after each, and whether a human must approve them. A role nobody changed has the seeded default (default true): security 1/day, 24 h, approval; architect 2/day, 12 h, approval; developer 5/day, 2 h; reviewer 3/day, 4 h; tester 5/day, 2 h.
//	@Description	Tenant: a caller bound to a tenant reads its own (naming another is 404); a platform principal must name one. Needs learning.view.
//	@Tags			learning
//	@Produce		json
//	@Security		BearerAuth
//	@Param			tenant_id	query		string	false	"the tenant (required for a platform principal)"	maxlength(128)
//	@Success		200			{object}	GovernanceList
//	@Failure		401			{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403			{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404			{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
//	@Failure		422			{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429			{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500			{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503			{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/learning/governance [get]
func (h *Learning) ListGovernance(c *gin.Context) {
	var q tenantQuery
	if !bindQuery(c, &q) {
		return
	}
	tenant, ok := tenantOf(c, h.Tenants, q.TenantID)
	if !ok {
		return
	}
	gs, err := h.Service.ListGovernance(c.Request.Context(), tenant)
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := GovernanceList{Items: convert(gs, governanceResponse)}
	c.JSON(http.StatusOK, out)
}

// SetGovernance godoc
//
//	@Summary		Change a role's learning governance
//	@ID			setLearningGovernance
//	@Description	Replaces the rule of one agent role in a tenant, audited as learning.governance.update with the rule before and after. The role's last update (and so its running cooldown) stays. The next proposal is decided by the new rule.
//	@Description	Tenant: a caller bound to a tenant may omit tenant_id or name its own (another is 404); a platform principal must name one, and a new slug creates the tenant. Needs learning.approve.
//	@Tags			learning
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			role	path		string			true	"agent role"	Enums(security,developer,reviewer,tester,architect)
//	@Param			body	body		GovernanceBody	true	"the new rule"
//	@Success		200		{object}	GovernanceResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/learning/governance/{role} [put]
func (h *Learning) SetGovernance(c *gin.Context) {
	var body GovernanceBody
	if !bindJSON(c, &body) {
		return
	}
	tenant, ok := tenantOf(c, h.Tenants, body.TenantID)
	if !ok {
		return
	}
	g, err := h.Service.SetGovernance(c.Request.Context(), actorOf(c), tenant, work.AgentRole(c.Param("role")), learning.Rule{
		MaxUpdatesPerDay: *body.MaxUpdatesPerDay, CooldownHours: *body.CooldownHours, RequireHumanApproval: *body.RequireHumanApproval,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, governanceResponse(g))
}

// Propose godoc
//
//	@Summary		Propose a learned prompt
//	@ID			proposePrompt
//	@Description	An agent proposes a new version of its role's prompt from a pattern it saw. The role's governance decides atomically, under a lock of the role's rule that every replica takes: refused with 429 rate_limit.exceeded and Retry-After (seconds) when the role's accepted proposals since midnight UTC reached max_updates_per_day (details.reason daily_cap) or its last one is younger than cooldown_hours (cooldown); otherwise stored as the role's next version, pending_review when the rule requires human approval, else auto_approved and current at once (201 either way). An accepted proposal counts against the cap and starts the cooldown whatever a human decides later.
//	@Description	llm_response, optional, is the raw answer of the pattern analysis: its JSON must pass the patterns schema (as POST /validate/patterns; 422 otherwise); the data and the validator's warnings are kept with the proposal and returned. Every decision, refusals included, is audited (learning.proposal.create, learning.proposal.refuse) and counted in learning_proposals_total{role,decision}.
//	@Description	Tenant: a caller bound to a tenant may omit tenant_id or name its own (another is 404); a platform principal must name one. Needs agent.configure.
//	@Tags			learning
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			body	body		ProposalBody	true	"the learned prompt"
//	@Success		201		{object}	PromptResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded | rate_limit.exceeded: role \"developer\" may not learn a new prompt yet (\"cooldown\"); retry in 7200 s"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/learning/proposals [post]
func (h *Learning) Propose(c *gin.Context) {
	var body ProposalBody
	if !bindJSON(c, &body) {
		return
	}
	tenant, ok := tenantOf(c, h.Tenants, body.TenantID)
	if !ok {
		return
	}
	p, err := h.Service.Propose(c.Request.Context(), actorOf(c), learning.ProposalInput{
		TenantID: tenant, Role: work.AgentRole(body.AgentRole), Text: body.PromptText,
		LearnedFromPattern: body.LearnedFromPattern, LLMResponse: body.LLMResponse,
	})
	if err != nil {
		if r, ok := learning.RefusalOf(err); ok {
			c.Header("Retry-After", strconv.FormatInt(r.RetryAfterSeconds(), 10))
		}
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusCreated, promptResponse(p))
}

// Approve godoc
//
//	@Summary		Approve a proposal
//	@ID			approveProposal
//	@Description	Approves a pending_review proposal exactly once (human_approved, approved_by, approved_at): one conditional update, so of concurrent approvals and rejections one wins and the others, like any later one, are 409 state.conflict. Once approved it is current unless a newer version of the role is approved already. Audited as learning.proposal.approve. Another tenant's proposal is 404. Needs learning.approve.
//	@Tags			learning
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id	path		string	true	"proposal (prompt version) id"	format(uuid)
//	@Success		200	{object}	PromptResponse
//	@Failure		401	{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403	{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404	{object}	middleware.ErrorBody	"resource.not_found: proposal \"3b1f0c2e-6a4d-4e8f-9b7a-1c2d3e4f5a6b\" not found"
//	@Failure		409	{object}	middleware.ErrorBody	"state.conflict: proposal is human_approved: only a pending_review proposal can be approved or rejected"
//	@Failure		422	{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429	{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500	{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503	{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/learning/proposals/{id}/approve [post]
func (h *Learning) Approve(c *gin.Context) {
	tenant, ok := tenantFilterOf(c, h.Tenants, "")
	if !ok {
		return
	}
	p, err := h.Service.Approve(c.Request.Context(), actorOf(c), tenant, c.Param("id"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, promptResponse(p))
}

// Reject godoc
//
//	@Summary		Reject a proposal
//	@ID			rejectProposal
//	@Description	Rejects a pending_review proposal exactly once, with a reason (rejected, rejection_reason); a second or concurrent decision is 409 state.conflict. A rejected proposal still counts against the role's daily cap. Audited as learning.proposal.reject. Another tenant's proposal is 404. Needs learning.approve.
//	@Tags			learning
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id		path		string		true	"proposal (prompt version) id"	format(uuid)
//	@Param			body	body		RejectBody	true	"why"
//	@Success		200		{object}	PromptResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: proposal \"3b1f0c2e-6a4d-4e8f-9b7a-1c2d3e4f5a6b\" not found"
//	@Failure		409		{object}	middleware.ErrorBody	"state.conflict: proposal is rejected: only a pending_review proposal can be approved or rejected"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/learning/proposals/{id}/reject [post]
func (h *Learning) Reject(c *gin.Context) {
	var body RejectBody
	if !bindJSON(c, &body) {
		return
	}
	tenant, ok := tenantFilterOf(c, h.Tenants, "")
	if !ok {
		return
	}
	p, err := h.Service.Reject(c.Request.Context(), actorOf(c), tenant, c.Param("id"), body.Reason)
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, promptResponse(p))
}

// Stats godoc
//
//	@Summary		Learning stats
//	@ID			learningStats
//	@Description	Per agent role of a tenant, what the original learning_stats and governance_status views gave: the rule, accepted proposals since midnight UTC (updates_today), proposals waiting for a human (pending_reviews), the current version, the last update, and when the role may next propose (next_allowed_at, can_update_now).
//	@Description	Tenant: a caller bound to a tenant reads its own (naming another is 404); a platform principal must name one. Needs learning.view.
//	@Tags			learning
//	@Produce		json
//	@Security		BearerAuth
//	@Param			tenant_id	query		string	false	"the tenant (required for a platform principal)"	maxlength(128)
//	@Success		200			{object}	LearningStats
//	@Failure		401			{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403			{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404			{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
//	@Failure		422			{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429			{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500			{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503			{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/learning/stats [get]
func (h *Learning) Stats(c *gin.Context) {
	var q tenantQuery
	if !bindQuery(c, &q) {
		return
	}
	tenant, ok := tenantOf(c, h.Tenants, q.TenantID)
	if !ok {
		return
	}
	rs, err := h.Service.Stats(c.Request.Context(), tenant)
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := LearningStats{TenantID: tenant, Roles: make([]LearningRoleStats, len(rs))}
	for i, r := range rs {
		out.Roles[i] = LearningRoleStats{
			GovernanceResponse: governanceResponse(r.Governance), UpdatesToday: r.UpdatesToday, PendingReviews: r.PendingReviews,
			CurrentVersion: r.CurrentVersion, NextAllowedAt: r.NextAllowedAt, CanUpdateNow: r.CanUpdateNow,
		}
	}
	c.JSON(http.StatusOK, out)
}

func governanceResponse(g learning.Governance) GovernanceResponse {
	return GovernanceResponse{
		TenantID: g.TenantID, AgentRole: string(g.Role), MaxUpdatesPerDay: g.MaxUpdatesPerDay, CooldownHours: g.CooldownHours,
		RequireHumanApproval: g.RequireHumanApproval, LastUpdateAt: g.LastUpdateAt, Default: g.Default,
		UpdatedBy: optional(g.UpdatedBy), UpdatedAt: g.UpdatedAt,
	}
}

func promptResponse(p learning.Prompt) PromptResponse {
	return PromptResponse{
		ID: p.ID, TenantID: p.TenantID, AgentRole: string(p.Role), Version: p.Version, PromptText: p.Text,
		AutoLearned: p.AutoLearned, LearnedFromPattern: p.LearnedFromPattern, ApprovalStatus: string(p.Status),
		Current: p.Current, CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt, ApprovedBy: optional(p.ApprovedBy),
		ApprovedAt: p.ApprovedAt, RejectionReason: optional(p.RejectionReason), LLMData: patternsOf(p.LLMData), Warnings: p.Warnings,
	}
}

// patternsOf is the validated pattern analysis of a proposal (an array of
// objects, as the patterns schema requires), nil when none.
func patternsOf(data any) []map[string]any {
	items, ok := data.([]any)
	if !ok {
		return nil
	}
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
