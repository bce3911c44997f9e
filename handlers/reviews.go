package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/llmcheck"
	"github.com/golden-architecture/control-plane/services/review"
)

// ReviewService is what the review routes need (services/review implements
// it).
type ReviewService interface {
	Create(ctx context.Context, actor audit.Actor, in review.CreateInput) (review.Review, error)
	CastVote(ctx context.Context, actor audit.Actor, in review.VoteInput) (review.Review, review.Vote, error)
	Get(ctx context.Context, tenant, id string) (review.Review, error)
	List(ctx context.Context, f review.Filter) (cursor.Page[review.Review], error)
}

var _ ReviewService = (*review.Service)(nil)

// Reviews serves /api/v1/reviews: peer reviews of a task by weighted agent
// votes, decided by a quorum; a failed one escalates the task.
type Reviews struct {
	Service ReviewService
	Tenants TenantResolver
}

// ReviewInviteBody is an agent invited to a review.
type ReviewInviteBody struct {
	AgentID string `json:"agent_id" binding:"required,ident,max=64" minLength:"1" maxLength:"64" example:"reviewer-1"`
	// Weight is the agent's weight in the vote, 1 when omitted.
	Weight *float64 `json:"weight,omitempty" exclusiveMinimum:"0" maximum:"1000" example:"2"`
} // @name ReviewInvite

// ReviewCreateBody is the body of POST /api/v1/reviews.
type ReviewCreateBody struct {
	TaskID string `json:"task_id" binding:"required,ident,max=64" format:"uuid" example:"6f1c2b9e-2d7a-4c55-9a7e-0d4f3b8a1c22"`
	// Quorum is the share of the invited weight the approvals must reach,
	// 0 < quorum ≤ 1; 0.75 when omitted.
	Quorum *float64 `json:"quorum,omitempty" exclusiveMinimum:"0" maximum:"1" example:"0.75"`
	// Agents are the agents invited to vote, each once.
	Agents []ReviewInviteBody `json:"agents" binding:"required,dive" minItems:"1" maxItems:"50"`
} // @name ReviewCreate

// ReviewVoteBody is the body of POST /api/v1/reviews/{id}/votes: vote and
// reasoning, or raw.
type ReviewVoteBody struct {
	AgentID string `json:"agent_id" binding:"required,ident,max=64" minLength:"1" maxLength:"64" example:"reviewer-1"`
	Vote    string `json:"vote,omitempty" binding:"omitempty,ident,max=32" enums:"approve,reject,conditional" example:"reject"`
	// Reasoning is why the agent votes so.
	Reasoning string `json:"reasoning,omitempty" binding:"max=8000" maxLength:"2000" example:"The fix hides the failure instead of removing its cause."`
	// Raw is the agent's raw LLM answer instead of vote and reasoning: its
	// JSON must pass the consensus schema of POST /validate/consensus; the
	// decision, reasoning and confidence are taken from it, and the data and
	// the validator's warnings are kept with the vote.
	Raw string `json:"raw,omitempty" binding:"max=262144" maxLength:"262144" example:"{\"decision\":\"conditional\",\"confidence\":0.7,\"reasoning\":\"Needs a regression test.\",\"concerns\":[\"no test\"]}"`
} // @name ReviewVoteCreate

// ReviewAgentResponse is an agent invited to a review.
type ReviewAgentResponse struct {
	AgentID string  `json:"agent_id" example:"reviewer-1"`
	Weight  float64 `json:"weight" example:"2"`
} // @name ReviewAgent

// ReviewVoteResponse is one agent's vote.
type ReviewVoteResponse struct {
	AgentID   string  `json:"agent_id" example:"reviewer-1"`
	Weight    float64 `json:"weight" example:"2"`
	Vote      string  `json:"vote" enums:"approve,reject,conditional" example:"reject"`
	Reasoning string  `json:"reasoning" example:"The fix hides the failure instead of removing its cause."`
	// Confidence is the agent's confidence from a raw answer; null otherwise.
	Confidence *float64 `json:"confidence" example:"0.7" extensions:"x-nullable"`
	// LLMData is the validated consensus answer of a raw vote (null
	// otherwise) and Warnings the validator's warnings about it.
	LLMData   map[string]any     `json:"llm_data" extensions:"x-nullable"`
	Warnings  []llmcheck.Warning `json:"warnings"`
	CreatedBy string             `json:"created_by" example:"user:0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11"`
	CreatedAt time.Time          `json:"created_at" example:"2026-01-02T15:04:05.123456Z" format:"date-time"`
} // @name ReviewVote

// ReviewResponse is one peer review session.
type ReviewResponse struct {
	ID          string                `json:"id" format:"uuid" example:"2c9a4e6b-7d1f-4a3e-8b5c-6d7e8f9a0b1c"`
	TenantID    string                `json:"tenant_id" example:"default"`
	TaskID      string                `json:"task_id" format:"uuid" example:"6f1c2b9e-2d7a-4c55-9a7e-0d4f3b8a1c22"`
	Quorum      float64               `json:"quorum" example:"0.75"`
	Agents      []ReviewAgentResponse `json:"agents"`
	TotalWeight float64               `json:"total_weight" example:"3"`
	Status      string                `json:"status" enums:"open,completed,failed" example:"failed"`
	// ConsensusScore is the weighted share of approvals:
	// approve_weight / total_weight.
	ConsensusScore float64 `json:"consensus_score" example:"0.3333"`
	ApproveWeight  float64 `json:"approve_weight" example:"1"`
	VotedWeight    float64 `json:"voted_weight" example:"3"`
	// Votes are the votes so far, oldest first.
	Votes []ReviewVoteResponse `json:"votes"`
	// EscalationID is the agent_conflict escalation a failed review opened;
	// null otherwise.
	EscalationID *string    `json:"escalation_id" format:"uuid" example:"0c6d1e1a-8f5b-4a8e-9d0c-2b7e4f1a9c33" extensions:"x-nullable"`
	CreatedBy    string     `json:"created_by" example:"user:0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11"`
	CreatedAt    time.Time  `json:"created_at" example:"2026-01-02T15:04:05.123456Z" format:"date-time"`
	DecidedAt    *time.Time `json:"decided_at" example:"2026-01-02T15:09:05Z" format:"date-time" extensions:"x-nullable"`
	// TaskState is the task's state after the vote that decided the review
	// (escalated after a failure); null otherwise.
	TaskState *string `json:"task_state" example:"escalated" extensions:"x-nullable"`
} // @name Review

// ReviewList is a page of reviews, newest first.
type ReviewList struct {
	Items []ReviewResponse `json:"items"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"next_cursor" example:"eyJ0IjoiMjAyNi0wMS0wMlQxNTowNDowNVoiLCJpZCI6Ii4uLiJ9" extensions:"x-nullable"`
} // @name ReviewList

// ReviewVoteResult is the answer of a vote: the vote and the review after it.
type ReviewVoteResult struct {
	Vote   ReviewVoteResponse `json:"vote"`
	Review ReviewResponse     `json:"review"`
} // @name ReviewVoteResult

// reviewListQuery is the query of GET /reviews.
type reviewListQuery struct {
	TenantID string `form:"tenant_id" binding:"omitempty,ident,max=128"`
	TaskID   string `form:"task_id" binding:"omitempty,ident,max=64"`
	Status   string `form:"status" binding:"omitempty,ident,max=32"`
	Limit    int    `form:"limit" binding:"omitempty,min=1"`
	Cursor   string `form:"cursor" binding:"omitempty,ident,max=512"`
}

// Register implements Resource.
func (h *Reviews) Register(api *gin.RouterGroup, _ RouteLimiter) {
	g := api.Group("/reviews", middleware.Authenticated())
	view, update := middleware.Require(auth.PermTaskView), middleware.Require(auth.PermTaskUpdate)
	g.POST("", update, h.Create)
	g.GET("", view, h.List)
	g.GET("/:id", view, h.Get)
	g.POST("/:id/votes", update, h.Vote)
}

// Create godoc
//
//	@Summary		Open a peer review
//	@ID			createReview
//	@Description	Opens a review of a running, in-review or escalated task (another state is 409): the invited agents, active agents of the task's tenant each invited once with a weight > 0 (1 when omitted), vote, and the review is decided by the weighted share of approvals against quorum (0 < quorum ≤ 1, default 0.75). A task has at most one open review (a second is 409 until it is decided). The review belongs to the task's tenant; another tenant's task or agent is 404, as an unknown one. Audited as review.create. Needs task.update.
//	@Tags			reviews
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			body	body		ReviewCreateBody	true	"the task, the quorum and the invited agents"
//	@Success		201		{object}	ReviewResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: task \"6f1c2b9e-2d7a-4c55-9a7e-0d4f3b8a1c22\" not found | resource.not_found: agent \"reviewer-1\" not found"
//	@Failure		409		{object}	middleware.ErrorBody	"state.conflict: task is pending: only a running, in-review or escalated task can be reviewed | state.conflict: the task has an open review already: it is decided before another opens"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/reviews [post]
func (h *Reviews) Create(c *gin.Context) {
	var body ReviewCreateBody
	if !bindJSON(c, &body) {
		return
	}
	tenant, ok := tenantFilterOf(c, h.Tenants, "")
	if !ok {
		return
	}
	in := review.CreateInput{TenantID: tenant, TaskID: body.TaskID, Quorum: body.Quorum, Agents: make([]review.Invite, len(body.Agents))}
	for i, a := range body.Agents {
		in.Agents[i] = review.Invite{AgentID: a.AgentID, Weight: 1}
		if a.Weight != nil {
			in.Agents[i].Weight = *a.Weight
		}
	}
	r, err := h.Service.Create(c.Request.Context(), actorOf(c), in)
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusCreated, reviewResponse(r))
}

// Vote godoc
//
//	@Summary		Vote on a review
//	@ID			voteOnReview
//	@Description	An invited agent votes once: vote (approve, reject or conditional; only approve counts towards the quorum) with its reasoning, or raw, the agent's raw LLM answer, whose JSON must pass the consensus schema (as POST /validate/consensus; 422 otherwise) and gives the vote, reasoning and confidence; its data and the validator's warnings are kept and returned. A second vote of an agent, concurrent ones included on any replica, is 409, as is any vote once the review is decided. An agent that is not invited is 422, or 404 when the review's tenant has no such agent.
//	@Description	The vote that makes the outcome certain decides the review in its own transaction: completed when the approvals' weight reaches quorum × total_weight, failed when even every remaining vote could not reach it (so also when every invited agent has voted without reaching it). A failed review opens an agent_conflict escalation of the task in the same transaction (the task moves to escalated; escalation_id and task_state in the answer), unless the task has ended meanwhile. Audited as review.vote and review.complete or review.fail; counted in reviews_total{outcome}. Needs task.update.
//	@Tags			reviews
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id		path		string			true	"review id"	format(uuid)
//	@Param			body	body		ReviewVoteBody	true	"the vote"
//	@Success		201		{object}	ReviewVoteResult
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: review \"2c9a4e6b-7d1f-4a3e-8b5c-6d7e8f9a0b1c\" not found | resource.not_found: agent \"reviewer-9\" not found"
//	@Failure		409		{object}	middleware.ErrorBody	"state.conflict: agent \"reviewer-1\" has voted on this review already: one vote per agent | state.conflict: review is failed: it takes no more votes"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/reviews/{id}/votes [post]
func (h *Reviews) Vote(c *gin.Context) {
	var body ReviewVoteBody
	if !bindJSON(c, &body) {
		return
	}
	tenant, ok := tenantFilterOf(c, h.Tenants, "")
	if !ok {
		return
	}
	r, v, err := h.Service.CastVote(c.Request.Context(), actorOf(c), review.VoteInput{
		TenantID: tenant, ReviewID: c.Param("id"), AgentID: body.AgentID, Decision: review.Decision(body.Vote),
		Reasoning: body.Reasoning, Raw: body.Raw,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusCreated, ReviewVoteResult{Vote: reviewVoteResponse(v), Review: reviewResponse(r)})
}

// Get godoc
//
//	@Summary		Show a review
//	@ID			getReview
//	@Description	A review of the caller's tenant (any tenant for a platform principal) with its votes and consensus score; another tenant's or an unknown one is 404. Needs task.view.
//	@Tags			reviews
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id	path		string	true	"review id"	format(uuid)
//	@Success		200	{object}	ReviewResponse
//	@Failure		401	{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		404	{object}	middleware.ErrorBody	"resource.not_found: review \"2c9a4e6b-7d1f-4a3e-8b5c-6d7e8f9a0b1c\" not found"
//	@Failure		422	{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429	{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500	{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503	{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/reviews/{id} [get]
func (h *Reviews) Get(c *gin.Context) {
	tenant, ok := tenantFilterOf(c, h.Tenants, "")
	if !ok {
		return
	}
	r, err := h.Service.Get(c.Request.Context(), tenant, c.Param("id"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, reviewResponse(r))
}

// List godoc
//
//	@Summary		List reviews
//	@ID			listReviews
//	@Description	Newest first with their votes, keyset paged: pass next_cursor back as cursor for the next page. A caller bound to a tenant lists its tenant's reviews (naming another tenant is 404); a platform principal lists every tenant's unless it names one. Needs task.view.
//	@Tags			reviews
//	@Produce		json
//	@Security		BearerAuth
//	@Param			tenant_id	query		string	false	"only this tenant's reviews"					maxlength(128)
//	@Param			task_id		query		string	false	"only this task's reviews"						format(uuid)
//	@Param			status		query		string	false	"only reviews in this status"					Enums(open,completed,failed)
//	@Param			limit		query		int		false	"page size; larger values are capped at 200"	minimum(1)	maximum(200)	default(50)
//	@Param			cursor		query		string	false	"next_cursor of the previous page"				maxlength(512)
//	@Success		200			{object}	ReviewList
//	@Failure		401			{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		404			{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
//	@Failure		422			{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429			{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500			{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503			{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/reviews [get]
func (h *Reviews) List(c *gin.Context) {
	var q reviewListQuery
	if !bindQuery(c, &q) {
		return
	}
	tenant, ok := tenantFilterOf(c, h.Tenants, q.TenantID)
	if !ok {
		return
	}
	p, err := h.Service.List(c.Request.Context(), review.Filter{
		TenantID: tenant, TaskID: q.TaskID, Status: review.Status(q.Status), Cursor: q.Cursor, Limit: q.Limit,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, ReviewList{Items: convert(p.Items, reviewResponse), NextCursor: nextCursor(p.NextCursor)})
}

func reviewResponse(r review.Review) ReviewResponse {
	out := ReviewResponse{
		ID: r.ID, TenantID: r.TenantID, TaskID: r.TaskID, Quorum: r.Quorum, TotalWeight: r.TotalWeight, Status: string(r.Status),
		ConsensusScore: r.Score, ApproveWeight: r.ApproveWeight, VotedWeight: r.VotedWeight, Votes: convert(r.Votes, reviewVoteResponse),
		EscalationID: optional(r.EscalationID), CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, DecidedAt: r.DecidedAt,
		TaskState: optional(string(r.TaskState)), Agents: make([]ReviewAgentResponse, len(r.Agents)),
	}
	for i, a := range r.Agents {
		out.Agents[i] = ReviewAgentResponse{AgentID: a.AgentID, Weight: a.Weight}
	}
	return out
}

func reviewVoteResponse(v review.Vote) ReviewVoteResponse {
	return ReviewVoteResponse{
		AgentID: v.AgentID, Weight: v.Weight, Vote: string(v.Decision), Reasoning: v.Reasoning, Confidence: v.Confidence,
		LLMData: v.LLMData, Warnings: v.Warnings, CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt,
	}
}
