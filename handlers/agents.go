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

// AgentService is what the agent routes need (services/work implements it).
type AgentService interface {
	CreateAgent(ctx context.Context, actor audit.Actor, in work.CreateAgentInput) (work.Agent, error)
	GetAgent(ctx context.Context, tenant, id string) (work.Agent, error)
	UpdateAgent(ctx context.Context, actor audit.Actor, tenant, id string, in work.UpdateAgentInput) (work.Agent, error)
	ListAgents(ctx context.Context, f work.AgentFilter) (cursor.Page[work.Agent], error)
}

var _ AgentService = (*work.Service)(nil)

// Agents serves /api/v1/agents: the workers of a tenant that tasks are
// assigned to.
type Agents struct {
	Service AgentService
	Tenants TenantResolver
}

// AgentCreateBody is the body of POST /api/v1/agents.
type AgentCreateBody struct {
	// TenantID: a caller bound to a tenant may omit it or name its own; a
	// platform principal must name one.
	TenantID string `json:"tenant_id,omitempty" binding:"omitempty,ident,max=128" maxLength:"64" example:"acme"`
	// ID is a slug unique in the tenant: 1 to 64 lowercase letters, digits,
	// '-' and '_', starting with a letter or digit. It never changes.
	ID   string `json:"id" binding:"required,ident,max=64" minLength:"1" maxLength:"64" example:"builder-1"`
	Role string `json:"role" binding:"required,ident,max=32" enums:"security,developer,reviewer,tester,architect" example:"developer"`
	// Status is active when omitted; only an active agent takes tasks.
	Status string `json:"status,omitempty" binding:"omitempty,ident,max=32" enums:"active,paused,retired" example:"active"`
	// Metadata is any JSON object of at most 16 KiB.
	Metadata map[string]any `json:"metadata,omitempty"`
} // @name AgentCreate

// AgentPatchBody is the body of PATCH /api/v1/agents/{id}; an omitted field
// stays as it is.
type AgentPatchBody struct {
	Role     *string         `json:"role,omitempty" binding:"omitempty,ident,max=32" enums:"security,developer,reviewer,tester,architect" example:"reviewer"`
	Status   *string         `json:"status,omitempty" binding:"omitempty,ident,max=32" enums:"active,paused,retired" example:"paused"`
	Metadata *map[string]any `json:"metadata,omitempty"`
	// Force retires an agent that has tasks in progress (running, review,
	// escalated); without it that is 409.
	Force bool `json:"force,omitempty" example:"false"`
} // @name AgentPatch

// AgentResponse is one agent.
type AgentResponse struct {
	ID       string         `json:"id" example:"builder-1"`
	TenantID string         `json:"tenant_id" example:"acme"`
	Role     string         `json:"role" enums:"security,developer,reviewer,tester,architect" example:"developer"`
	Status   string         `json:"status" enums:"active,paused,retired" example:"active"`
	Metadata map[string]any `json:"metadata"`
	// PromptVersion is the current prompt version of the agent's role in
	// its tenant: the role's newest approved version (GET /prompts marks
	// it current); null while the role has none.
	PromptVersion *int      `json:"prompt_version" example:"3" extensions:"x-nullable"`
	CreatedBy     string    `json:"created_by" example:"user:0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11"`
	CreatedAt     time.Time `json:"created_at" example:"2026-01-02T15:04:05.123456Z" format:"date-time"`
	UpdatedAt     time.Time `json:"updated_at" example:"2026-01-02T15:04:05.123456Z" format:"date-time"`
} // @name Agent

// AgentList is a page of agents, newest first.
type AgentList struct {
	Items []AgentResponse `json:"items"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"next_cursor" example:"eyJ0IjoiMjAyNi0wMS0wMlQxNTowNDowNVoiLCJpZCI6ImJ1aWxkZXItMSJ9" extensions:"x-nullable"`
} // @name AgentList

// agentListQuery is the query of GET /agents.
type agentListQuery struct {
	TenantID string `form:"tenant_id" binding:"omitempty,ident,max=128"`
	Role     string `form:"role" binding:"omitempty,ident,max=32"`
	Status   string `form:"status" binding:"omitempty,ident,max=32"`
	Limit    int    `form:"limit" binding:"omitempty,min=1"`
	Cursor   string `form:"cursor" binding:"omitempty,ident,max=512"`
}

// tenantQuery names the tenant of a route addressed by an agent id, which is
// unique only inside its tenant.
type tenantQuery struct {
	TenantID string `form:"tenant_id" binding:"omitempty,ident,max=128"`
}

// Register implements Resource.
func (h *Agents) Register(api *gin.RouterGroup, _ RouteLimiter) {
	g := api.Group("/agents", middleware.Authenticated())
	view, configure := middleware.Require(auth.PermAgentView), middleware.Require(auth.PermAgentConfigure)
	g.POST("", configure, h.Create)
	g.GET("", view, h.List)
	g.GET("/:id", view, h.Get)
	g.PATCH("/:id", configure, h.Update)
}

// Create godoc
//
//	@Summary		Create an agent
//	@ID			createAgent
//	@Description	Adds an agent to a tenant with an id unique in the tenant (a taken id is 409), a role and a status (active when omitted). Audited as agent.create.
//	@Description	Tenant: a caller bound to a tenant may omit tenant_id or name its own; any other tenant is 404 resource.not_found, whether it exists or not. A platform principal must name one; a new slug creates the tenant. Needs agent.configure.
//	@Tags			agents
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			body	body		AgentCreateBody	true	"the new agent"
//	@Success		201		{object}	AgentResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
//	@Failure		409		{object}	middleware.ErrorBody	"state.conflict: agent \"builder-1\" already exists"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/agents [post]
func (h *Agents) Create(c *gin.Context) {
	var body AgentCreateBody
	if !bindJSON(c, &body) {
		return
	}
	tenant, ok := tenantOf(c, h.Tenants, body.TenantID)
	if !ok {
		return
	}
	a, err := h.Service.CreateAgent(c.Request.Context(), actorOf(c), work.CreateAgentInput{
		TenantID: tenant, ID: body.ID, Role: work.AgentRole(body.Role), Status: work.AgentStatus(body.Status), Metadata: body.Metadata,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusCreated, agentResponse(a))
}

// List godoc
//
//	@Summary		List agents
//	@ID			listAgents
//	@Description	Newest first, keyset paged: pass next_cursor back as cursor for the next page. Each agent reports prompt_version, the current prompt version of its role in its tenant (null when none). A caller bound to a tenant lists its tenant's agents (naming another tenant is 404); a platform principal lists every tenant's unless it names one. Needs agent.view.
//	@Tags			agents
//	@Produce		json
//	@Security		BearerAuth
//	@Param			tenant_id	query		string	false	"only this tenant's agents"						maxlength(128)
//	@Param			role		query		string	false	"only agents of this role"						Enums(security,developer,reviewer,tester,architect)
//	@Param			status		query		string	false	"only agents of this status"					Enums(active,paused,retired)
//	@Param			limit		query		int		false	"page size; larger values are capped at 200"	minimum(1)	maximum(200)	default(50)
//	@Param			cursor		query		string	false	"next_cursor of the previous page"				maxlength(512)
//	@Success		200			{object}	AgentList
//	@Failure		401			{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		404			{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
//	@Failure		422			{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429			{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500			{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503			{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/agents [get]
func (h *Agents) List(c *gin.Context) {
	var q agentListQuery
	if !bindQuery(c, &q) {
		return
	}
	tenant, ok := tenantFilterOf(c, h.Tenants, q.TenantID)
	if !ok {
		return
	}
	p, err := h.Service.ListAgents(c.Request.Context(), work.AgentFilter{
		TenantID: tenant, Role: work.AgentRole(q.Role), Status: work.AgentStatus(q.Status), Cursor: q.Cursor, Limit: q.Limit,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := AgentList{Items: convert(p.Items, agentResponse), NextCursor: nextCursor(p.NextCursor)}
	c.JSON(http.StatusOK, out)
}

// Get godoc
//
//	@Summary		Show an agent
//	@ID			getAgent
//	@Description	The agent with prompt_version, the current prompt version of its role in its tenant (null when none). An agent id is unique inside its tenant: a caller bound to a tenant sees its tenant's agents; a platform principal names the tenant with tenant_id (422 without it). Needs agent.view.
//	@Tags			agents
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id			path		string	true	"agent id"								maxlength(64)
//	@Param			tenant_id	query		string	false	"the agent's tenant (platform principals)"	maxlength(128)
//	@Success		200			{object}	AgentResponse
//	@Failure		401			{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		404			{object}	middleware.ErrorBody	"resource.not_found: agent \"builder-1\" not found | resource.not_found: tenant \"acme\" not found"
//	@Failure		422			{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429			{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500			{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503			{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/agents/{id} [get]
func (h *Agents) Get(c *gin.Context) {
	var q tenantQuery
	if !bindQuery(c, &q) {
		return
	}
	tenant, ok := tenantOf(c, h.Tenants, q.TenantID)
	if !ok {
		return
	}
	a, err := h.Service.GetAgent(c.Request.Context(), tenant, c.Param("id"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, agentResponse(a))
}

// Update godoc
//
//	@Summary		Change an agent
//	@ID			updateAgent
//	@Description	Changes the role, status or metadata; omitted fields stay. Only an active agent is assigned tasks. Retiring an agent with tasks in progress (running, review, escalated) is 409 state.conflict unless force is true; the tasks keep their agent. A change is audited as agent.update with old and new values; a body that changes nothing writes nothing.
//	@Description	The tenant as for GET /agents/{id}. Needs agent.configure.
//	@Tags			agents
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id			path		string			true	"agent id"								maxlength(64)
//	@Param			tenant_id	query		string			false	"the agent's tenant (platform principals)"	maxlength(128)
//	@Param			body		body		AgentPatchBody	true	"the fields to change"
//	@Success		200			{object}	AgentResponse
//	@Failure		400			{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401			{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403			{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404			{object}	middleware.ErrorBody	"resource.not_found: agent \"builder-1\" not found | resource.not_found: tenant \"acme\" not found"
//	@Failure		409			{object}	middleware.ErrorBody	"state.conflict: agent \"builder-1\" has 2 tasks in progress: finish or reassign them, or retire it with force"
//	@Failure		413			{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422			{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429			{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500			{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503			{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/agents/{id} [patch]
func (h *Agents) Update(c *gin.Context) {
	var body AgentPatchBody
	if !bindJSON(c, &body) {
		return
	}
	var q tenantQuery
	if !bindQuery(c, &q) {
		return
	}
	tenant, ok := tenantOf(c, h.Tenants, q.TenantID)
	if !ok {
		return
	}
	in := work.UpdateAgentInput{Metadata: body.Metadata, Force: body.Force}
	if body.Role != nil {
		r := work.AgentRole(*body.Role)
		in.Role = &r
	}
	if body.Status != nil {
		s := work.AgentStatus(*body.Status)
		in.Status = &s
	}
	a, err := h.Service.UpdateAgent(c.Request.Context(), actorOf(c), tenant, c.Param("id"), in)
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, agentResponse(a))
}

func agentResponse(a work.Agent) AgentResponse {
	return AgentResponse{
		ID: a.ID, TenantID: a.TenantID, Role: string(a.Role), Status: string(a.Status), Metadata: a.Metadata,
		PromptVersion: a.PromptVersion, CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
}
