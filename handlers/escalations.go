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
	"github.com/golden-architecture/control-plane/services/work"
)

// EscalationService is what the escalation routes need (services/work
// implements it).
type EscalationService interface {
	OpenEscalation(ctx context.Context, actor audit.Actor, in work.OpenInput) (work.Escalation, error)
	GetEscalation(ctx context.Context, tenant, id string) (work.Escalation, error)
	ListEscalations(ctx context.Context, f work.EscalationFilter) (cursor.Page[work.Escalation], error)
	ResolveEscalation(ctx context.Context, actor audit.Actor, tenant, id string, in work.ResolveInput) (work.Escalation, error)
}

var _ EscalationService = (*work.Service)(nil)

// Escalations serves /api/v1/escalations: tasks that need a human.
type Escalations struct {
	Service EscalationService
	Tenants TenantResolver
}

// EscalationCreateBody is the body of POST /api/v1/escalations.
type EscalationCreateBody struct {
	TaskID      string `json:"task_id" binding:"required,ident,max=64" format:"uuid" example:"6f1c2b9e-2d7a-4c55-9a7e-0d4f3b8a1c22"`
	Reason      string `json:"reason" binding:"required,max=40000" minLength:"1" maxLength:"10000" example:"The agent cannot reproduce the failure locally."`
	PatternType string `json:"pattern_type" binding:"required,ident,max=32" enums:"skill_gap,agent_conflict,process_issue" example:"skill_gap"`
	// SuggestedFix is what the reporter would do about it.
	SuggestedFix string `json:"suggested_fix,omitempty" binding:"max=40000" maxLength:"10000" example:"Give the agent access to the CI logs."`
} // @name EscalationCreate

// EscalationResolveBody is the body of POST /api/v1/escalations/{id}/resolve.
type EscalationResolveBody struct {
	Resolution string `json:"resolution" binding:"required,max=40000" minLength:"1" maxLength:"10000" example:"Granted read access to CI logs."`
	// Data is any JSON object of at most 16 KiB kept with the resolution.
	Data map[string]any `json:"data,omitempty"`
} // @name EscalationResolve

// EscalationResponse is one escalation.
type EscalationResponse struct {
	ID           string    `json:"id" format:"uuid" example:"0c6d1e1a-8f5b-4a8e-9d0c-2b7e4f1a9c33"`
	TenantID     string    `json:"tenant_id" example:"acme"`
	TaskID       string    `json:"task_id" format:"uuid" example:"6f1c2b9e-2d7a-4c55-9a7e-0d4f3b8a1c22"`
	Reason       string    `json:"reason" example:"The agent cannot reproduce the failure locally."`
	PatternType  string    `json:"pattern_type" enums:"skill_gap,agent_conflict,process_issue" example:"skill_gap"`
	SuggestedFix string    `json:"suggested_fix" example:"Give the agent access to the CI logs."`
	CreatedBy    string    `json:"created_by" example:"user:0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11"`
	CreatedAt    time.Time `json:"created_at" example:"2026-01-02T15:04:05.123456Z" format:"date-time"`
	Resolved     bool      `json:"resolved" example:"true"`
	// Resolution, ResolutionData, ResolvedBy and ResolvedAt are null while open.
	Resolution     *string        `json:"resolution" example:"Granted read access to CI logs." extensions:"x-nullable"`
	ResolutionData map[string]any `json:"resolution_data" extensions:"x-nullable"`
	ResolvedBy     *string        `json:"resolved_by" example:"user:7a2d9c41-1b3e-4f5a-8c6d-9e0f1a2b3c4d" extensions:"x-nullable"`
	ResolvedAt     *time.Time     `json:"resolved_at" example:"2026-01-02T16:00:00Z" format:"date-time" extensions:"x-nullable"`
	// TaskState is the task's state after this call (opening or resolving);
	// null when the escalation is only read.
	TaskState *string `json:"task_state" example:"escalated" extensions:"x-nullable"`
} // @name Escalation

// EscalationList is a page of escalations, newest first.
type EscalationList struct {
	Items []EscalationResponse `json:"items"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"next_cursor" example:"eyJ0IjoiMjAyNi0wMS0wMlQxNTowNDowNVoiLCJpZCI6Ii4uLiJ9" extensions:"x-nullable"`
} // @name EscalationList

// escalationListQuery is the query of GET /escalations.
type escalationListQuery struct {
	TenantID    string `form:"tenant_id" binding:"omitempty,ident,max=128"`
	Resolved    string `form:"resolved" binding:"omitempty,oneof=true false"`
	PatternType string `form:"pattern_type" binding:"omitempty,ident,max=32"`
	TaskID      string `form:"task_id" binding:"omitempty,ident,max=64"`
	Limit       int    `form:"limit" binding:"omitempty,min=1"`
	Cursor      string `form:"cursor" binding:"omitempty,ident,max=512"`
}

// Register implements Resource.
func (h *Escalations) Register(api *gin.RouterGroup, _ RouteLimiter) {
	g := api.Group("/escalations", middleware.Authenticated())
	view := middleware.Require(auth.PermEscalationView)
	g.POST("", middleware.Require(auth.PermEscalationCreate), h.Create)
	g.GET("", view, h.List)
	g.GET("/:id", view, h.Get)
	g.POST("/:id/resolve", middleware.Require(auth.PermEscalationResolve), h.Resolve)
}

// Create godoc
//
//	@Summary		Escalate a task
//	@ID			createEscalation
//	@Description	Opens an escalation of a running, in-review or already escalated task and moves the task to escalated (version + 1, a state event), in one transaction with the escalation and its audit entry (escalation.create). A task in another state is 409 state.conflict. The escalation belongs to the task's tenant; a task of another tenant is 404. task_state in the answer is the task's state afterwards. Needs escalation.create.
//	@Tags			escalations
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			body	body		EscalationCreateBody	true	"the task and what is wrong"
//	@Success		201		{object}	EscalationResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: task \"6f1c2b9e-2d7a-4c55-9a7e-0d4f3b8a1c22\" not found"
//	@Failure		409		{object}	middleware.ErrorBody	"state.conflict: task is pending: only a running, in-review or escalated task can be escalated"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/escalations [post]
func (h *Escalations) Create(c *gin.Context) {
	var body EscalationCreateBody
	if !bindJSON(c, &body) {
		return
	}
	tenant, ok := tenantFilterOf(c, h.Tenants, "")
	if !ok {
		return
	}
	e, err := h.Service.OpenEscalation(c.Request.Context(), actorOf(c), work.OpenInput{
		TenantID: tenant, TaskID: body.TaskID, Reason: body.Reason,
		PatternType: work.PatternType(body.PatternType), SuggestedFix: body.SuggestedFix,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusCreated, escalationResponse(e))
}

// List godoc
//
//	@Summary		List escalations
//	@ID			listEscalations
//	@Description	Newest first, keyset paged: pass next_cursor back as cursor for the next page. A caller bound to a tenant lists its tenant's escalations (naming another tenant is 404); a platform principal lists every tenant's unless it names one. Needs escalation.view.
//	@Tags			escalations
//	@Produce		json
//	@Security		BearerAuth
//	@Param			tenant_id		query		string	false	"only this tenant's escalations"				maxlength(128)
//	@Param			resolved		query		bool	false	"resolved (true) or open (false) escalations"
//	@Param			pattern_type	query		string	false	"only this pattern"								Enums(skill_gap,agent_conflict,process_issue)
//	@Param			task_id			query		string	false	"only this task's escalations"					format(uuid)
//	@Param			limit			query		int		false	"page size; larger values are capped at 200"	minimum(1)	maximum(200)	default(50)
//	@Param			cursor			query		string	false	"next_cursor of the previous page"				maxlength(512)
//	@Success		200				{object}	EscalationList
//	@Failure		401				{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403				{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404				{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
//	@Failure		422				{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429				{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500				{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503				{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/escalations [get]
func (h *Escalations) List(c *gin.Context) {
	var q escalationListQuery
	if !bindQuery(c, &q) {
		return
	}
	tenant, ok := tenantFilterOf(c, h.Tenants, q.TenantID)
	if !ok {
		return
	}
	f := work.EscalationFilter{TenantID: tenant, PatternType: work.PatternType(q.PatternType), TaskID: q.TaskID, Cursor: q.Cursor, Limit: q.Limit}
	if q.Resolved != "" {
		r := q.Resolved == "true"
		f.Resolved = &r
	}
	p, err := h.Service.ListEscalations(c.Request.Context(), f)
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := EscalationList{Items: convert(p.Items, escalationResponse), NextCursor: nextCursor(p.NextCursor)}
	c.JSON(http.StatusOK, out)
}

// Get godoc
//
//	@Summary		Show an escalation
//	@ID			getEscalation
//	@Description	An escalation of the caller's tenant (any tenant for a platform principal); another tenant's or an unknown one is 404. Needs escalation.view.
//	@Tags			escalations
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id	path		string	true	"escalation id"	format(uuid)
//	@Success		200	{object}	EscalationResponse
//	@Failure		401	{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403	{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404	{object}	middleware.ErrorBody	"resource.not_found: escalation \"0c6d1e1a-8f5b-4a8e-9d0c-2b7e4f1a9c33\" not found"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429	{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500	{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503	{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/escalations/{id} [get]
func (h *Escalations) Get(c *gin.Context) {
	tenant, ok := tenantFilterOf(c, h.Tenants, "")
	if !ok {
		return
	}
	e, err := h.Service.GetEscalation(c.Request.Context(), tenant, c.Param("id"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, escalationResponse(e))
}

// Resolve godoc
//
//	@Summary		Resolve an escalation
//	@ID			resolveEscalation
//	@Description	Resolves an open escalation exactly once: one conditional update, so of concurrent resolves on any number of replicas one wins and the others, like any later one, are 409 state.conflict. When no other escalation of the task stays open and the task is escalated, the task returns to running (version + 1, a state event), in the same transaction as the resolution and its audit entry (escalation.resolve). task_state in the answer is the task's state afterwards. Needs escalation.resolve.
//	@Tags			escalations
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id		path		string					true	"escalation id"	format(uuid)
//	@Param			body	body		EscalationResolveBody	true	"the resolution"
//	@Success		200		{object}	EscalationResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: escalation \"0c6d1e1a-8f5b-4a8e-9d0c-2b7e4f1a9c33\" not found"
//	@Failure		409		{object}	middleware.ErrorBody	"state.conflict: escalation is already resolved"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/escalations/{id}/resolve [post]
func (h *Escalations) Resolve(c *gin.Context) {
	var body EscalationResolveBody
	if !bindJSON(c, &body) {
		return
	}
	tenant, ok := tenantFilterOf(c, h.Tenants, "")
	if !ok {
		return
	}
	e, err := h.Service.ResolveEscalation(c.Request.Context(), actorOf(c), tenant, c.Param("id"), work.ResolveInput{
		Resolution: body.Resolution, Data: body.Data,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, escalationResponse(e))
}

func escalationResponse(e work.Escalation) EscalationResponse {
	return EscalationResponse{
		ID: e.ID, TenantID: e.TenantID, TaskID: e.TaskID, Reason: e.Reason, PatternType: string(e.PatternType),
		SuggestedFix: e.SuggestedFix, CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt, Resolved: e.ResolvedAt != nil,
		Resolution: optional(e.Resolution), ResolutionData: e.ResolutionData, ResolvedBy: optional(e.ResolvedBy),
		ResolvedAt: e.ResolvedAt, TaskState: optional(string(e.TaskState)),
	}
}
