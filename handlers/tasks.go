package handlers

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/work"
)

// TaskService is what the task routes need (services/work implements it).
type TaskService interface {
	CreateTask(ctx context.Context, actor audit.Actor, in work.CreateTaskInput) (work.Task, error)
	GetTask(ctx context.Context, tenant, id string) (work.Task, error)
	ListTasks(ctx context.Context, f work.TaskFilter) (cursor.Page[work.Task], error)
	UpdateTask(ctx context.Context, actor audit.Actor, tenant, id string, in work.UpdateTaskInput) (work.Task, error)
	DeleteTask(ctx context.Context, actor audit.Actor, tenant, id string, version *int64) (work.Task, error)
	TaskEvents(ctx context.Context, f work.EventFilter) (cursor.Page[work.TaskEvent], error)
}

var _ TaskService = (*work.Service)(nil)

// Tasks serves /api/v1/tasks: the work of a tenant, its state machine and
// its history.
type Tasks struct {
	Service TaskService
	Tenants TenantResolver
}

// TaskCreateBody is the body of POST /api/v1/tasks.
type TaskCreateBody struct {
	// TenantID: a caller bound to a tenant may omit it or name its own; a
	// platform principal must name one.
	TenantID    string `json:"tenant_id,omitempty" binding:"omitempty,ident,max=128" maxLength:"64" example:"acme"`
	Title       string `json:"title" binding:"required,max=800" minLength:"1" maxLength:"200" example:"Fix the flaky login test"`
	Description string `json:"description,omitempty" binding:"max=40000" maxLength:"10000" example:"TestLogin fails one run in twenty on CI."`
	// AgentID assigns the task to an active agent of the tenant.
	AgentID string `json:"agent_id,omitempty" binding:"omitempty,ident,max=64" maxLength:"64" example:"builder-1"`
	// Metadata is any JSON object of at most 16 KiB.
	Metadata map[string]any `json:"metadata,omitempty"`
} // @name TaskCreate

// TaskPatchBody is the body of PATCH /api/v1/tasks/{id}; an omitted (or
// null) field stays as it is.
type TaskPatchBody struct {
	Title       *string `json:"title,omitempty" binding:"omitempty,max=800" minLength:"1" maxLength:"200" example:"Fix the flaky login test"`
	Description *string `json:"description,omitempty" binding:"omitempty,max=40000" maxLength:"10000" example:"Fails on CI only; see run 812."`
	// AgentID reassigns the task to an active agent of its tenant; "" unassigns it.
	AgentID  *string         `json:"agent_id,omitempty" binding:"omitempty,ident,max=64" maxLength:"64" example:"builder-1"`
	Metadata *map[string]any `json:"metadata,omitempty"`
	// State moves the task along its state machine: pending → running →
	// review → completed, and failed or cancelled from any state that is
	// not final. escalated is entered and left through escalations.
	State *string `json:"state,omitempty" enums:"pending,running,review,completed,escalated,failed,cancelled" example:"running"`
	// Version is the version the change is based on (or send If-Match): a
	// task changed since is 409 state.conflict, so no update is lost.
	Version *int64 `json:"version,omitempty" binding:"omitempty,min=1" minimum:"1" example:"1"`
} // @name TaskPatch

// TaskResponse is one task.
type TaskResponse struct {
	ID          string  `json:"id" format:"uuid" example:"6f1c2b9e-2d7a-4c55-9a7e-0d4f3b8a1c22"`
	TenantID    string  `json:"tenant_id" example:"acme"`
	Title       string  `json:"title" example:"Fix the flaky login test"`
	Description string  `json:"description" example:"TestLogin fails one run in twenty on CI."`
	AgentID     *string `json:"agent_id" example:"builder-1" extensions:"x-nullable"`
	State       string  `json:"state" enums:"pending,running,review,completed,escalated,failed,cancelled" example:"running"`
	// AllowedStates are the states a PATCH may move the task to now.
	AllowedStates []string       `json:"allowed_states" example:"review,failed,cancelled"`
	Metadata      map[string]any `json:"metadata"`
	// Version grows by one with every change; send it back with a PATCH.
	Version int64 `json:"version" minimum:"1" example:"2"`
	// CreatedBy is the principal that created the task.
	CreatedBy string    `json:"created_by" example:"user:0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11"`
	CreatedAt time.Time `json:"created_at" example:"2026-01-02T15:04:05.123456Z" format:"date-time"`
	UpdatedAt time.Time `json:"updated_at" example:"2026-01-02T15:04:05.123456Z" format:"date-time"`
	// DeletedAt is null but in the answer of DELETE.
	DeletedAt *time.Time `json:"deleted_at" example:"2026-01-02T16:00:00Z" format:"date-time" extensions:"x-nullable"`
} // @name Task

// TaskList is a page of tasks, newest first.
type TaskList struct {
	Items []TaskResponse `json:"items"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"next_cursor" example:"eyJ0IjoiMjAyNi0wMS0wMlQxNTowNDowNVoiLCJpZCI6Ii4uLiJ9" extensions:"x-nullable"`
} // @name TaskList

// TaskEventResponse is one change of a task.
type TaskEventResponse struct {
	ID   int64  `json:"id" example:"17"`
	Kind string `json:"kind" enums:"created,updated,state,deleted" example:"state"`
	// FromState and ToState are set on a state change (ToState also on creation).
	FromState *string `json:"from_state" example:"running" extensions:"x-nullable"`
	ToState   *string `json:"to_state" example:"review" extensions:"x-nullable"`
	// Changes are the fields changed, each with old and new value, or what
	// caused a state change (escalation_id).
	Changes map[string]any `json:"changes"`
	// Version is the task's version after the change.
	Version   int64     `json:"version" example:"3"`
	Actor     string    `json:"actor" example:"user:0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11"`
	RequestID string    `json:"request_id" example:"req-7f3a"`
	CreatedAt time.Time `json:"created_at" example:"2026-01-02T15:04:05.123456Z" format:"date-time"`
} // @name TaskEvent

// TaskEventList is a page of a task's history, newest first.
type TaskEventList struct {
	Items []TaskEventResponse `json:"items"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"next_cursor" example:"eyJ0IjoiMjAyNi0wMS0wMlQxNTowNDowNVoiLCJpZCI6IjE3In0" extensions:"x-nullable"`
} // @name TaskEventList

// taskListQuery is the query of GET /tasks.
type taskListQuery struct {
	TenantID  string `form:"tenant_id" binding:"omitempty,ident,max=128"`
	State     string `form:"state" binding:"omitempty,ident,max=32"`
	AgentID   string `form:"agent_id" binding:"omitempty,ident,max=64"`
	CreatedBy string `form:"created_by" binding:"omitempty,ident,max=128"`
	Since     string `form:"since" binding:"omitempty,max=64"`
	Until     string `form:"until" binding:"omitempty,max=64"`
	Limit     int    `form:"limit" binding:"omitempty,min=1"`
	Cursor    string `form:"cursor" binding:"omitempty,ident,max=512"`
}

// pageQuery is the query of a list that only pages.
type pageQuery struct {
	Limit  int    `form:"limit" binding:"omitempty,min=1"`
	Cursor string `form:"cursor" binding:"omitempty,ident,max=512"`
}

// Register implements Resource.
func (h *Tasks) Register(api *gin.RouterGroup, _ RouteLimiter) {
	g := api.Group("/tasks", middleware.Authenticated())
	view := middleware.Require(auth.PermTaskView)
	g.POST("", middleware.Require(auth.PermTaskCreate), h.Create)
	g.GET("", view, h.List)
	g.GET("/:id", view, h.Get)
	g.GET("/:id/events", view, h.Events)
	g.PATCH("/:id", middleware.Require(auth.PermTaskUpdate), h.Update)
	g.DELETE("/:id", middleware.Require(auth.PermTaskDelete), h.Delete)
}

// Create godoc
//
//	@Summary		Create a task
//	@ID			createTask
//	@Description	Adds a pending task (version 1), optionally assigned to an active agent of its tenant (an unknown agent is 422, a paused or retired one 409). Audited as task.create and recorded as the first event of the task's history, in one transaction.
//	@Description	Tenant: a caller bound to a tenant may omit tenant_id or name its own; any other tenant is 404 resource.not_found, whether it exists or not. A platform principal must name one; a new slug creates the tenant. Needs task.create.
//	@Tags			tasks
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			body	body		TaskCreateBody	true	"the new task"
//	@Success		201		{object}	TaskResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
//	@Failure		409		{object}	middleware.ErrorBody	"state.conflict: agent \"builder-1\" is paused: only an active agent takes tasks"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/tasks [post]
func (h *Tasks) Create(c *gin.Context) {
	var body TaskCreateBody
	if !bindJSON(c, &body) {
		return
	}
	tenant, ok := tenantOf(c, h.Tenants, body.TenantID)
	if !ok {
		return
	}
	t, err := h.Service.CreateTask(c.Request.Context(), actorOf(c), work.CreateTaskInput{
		TenantID: tenant, Title: body.Title, Description: body.Description, AgentID: body.AgentID, Metadata: body.Metadata,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusCreated, taskResponse(t))
}

// List godoc
//
//	@Summary		List tasks
//	@ID			listTasks
//	@Description	Newest first, keyset paged: pass next_cursor back as cursor for the next page. Deleted tasks are not listed. A caller bound to a tenant lists its tenant's tasks (naming another tenant is 404); a platform principal lists every tenant's unless it names one. Needs task.view.
//	@Tags			tasks
//	@Produce		json
//	@Security		BearerAuth
//	@Param			tenant_id	query		string	false	"only this tenant's tasks"										maxlength(128)
//	@Param			state		query		string	false	"only tasks in this state"										Enums(pending,running,review,completed,escalated,failed,cancelled)
//	@Param			agent_id	query		string	false	"only tasks assigned to this agent"								maxlength(64)
//	@Param			created_by	query		string	false	"only tasks created by this principal (user:<id>)"				maxlength(128)
//	@Param			since		query		string	false	"created at or after (RFC 3339)"								format(date-time)
//	@Param			until		query		string	false	"created before (RFC 3339)"										format(date-time)
//	@Param			limit		query		int		false	"page size; larger values are capped at 200"					minimum(1)	maximum(200)	default(50)
//	@Param			cursor		query		string	false	"next_cursor of the previous page"								maxlength(512)
//	@Success		200			{object}	TaskList
//	@Failure		401			{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		404			{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
//	@Failure		422			{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429			{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500			{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503			{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/tasks [get]
func (h *Tasks) List(c *gin.Context) {
	var q taskListQuery
	if !bindQuery(c, &q) {
		return
	}
	since, until, err := timeRange(q.Since, q.Until)
	if err != nil {
		_ = c.Error(err)
		return
	}
	tenant, ok := tenantFilterOf(c, h.Tenants, q.TenantID)
	if !ok {
		return
	}
	p, err := h.Service.ListTasks(c.Request.Context(), work.TaskFilter{
		TenantID: tenant, State: work.State(q.State), AgentID: q.AgentID, CreatedBy: q.CreatedBy,
		Since: since, Until: until, Cursor: q.Cursor, Limit: q.Limit,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := TaskList{Items: convert(p.Items, taskResponse), NextCursor: nextCursor(p.NextCursor)}
	c.JSON(http.StatusOK, out)
}

// Get godoc
//
//	@Summary		Show a task
//	@ID			getTask
//	@Description	A task of the caller's tenant (any tenant for a platform principal); another tenant's, a deleted or an unknown task is 404. Needs task.view.
//	@Tags			tasks
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id	path		string	true	"task id"	format(uuid)
//	@Success		200	{object}	TaskResponse
//	@Header			200	{string}	ETag	"the task's version, for If-Match"
//	@Failure		401	{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		404	{object}	middleware.ErrorBody	"resource.not_found: task \"6f1c2b9e-2d7a-4c55-9a7e-0d4f3b8a1c22\" not found"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429	{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500	{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503	{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/tasks/{id} [get]
func (h *Tasks) Get(c *gin.Context) {
	tenant, ok := tenantFilterOf(c, h.Tenants, "")
	if !ok {
		return
	}
	t, err := h.Service.GetTask(c.Request.Context(), tenant, c.Param("id"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.Header("ETag", etag(t.Version))
	c.JSON(http.StatusOK, taskResponse(t))
}

// Update godoc
//
//	@Summary		Change a task
//	@ID			updateTask
//	@Description	Changes fields and/or moves the state. Allowed moves: pending → running; running → review; review → completed; and failed or cancelled from pending, running, review or escalated. escalated is entered by opening an escalation and left when the last open one is resolved. Any other move is 409 state.conflict whose details name allowed_states. Moving to the state the task is in changes nothing.
//	@Description	Optimistic concurrency: send the version you read (body version, or If-Match: "<version>" as the ETag of GET); if the task changed since, the answer is 409 state.conflict with the current version in details, and nothing is written. Of concurrent changes carrying one version, on any number of replicas, exactly one wins.
//	@Description	A change bumps the version and is recorded in the task's history (GET /tasks/{id}/events) and the audit trail (task.update) in one transaction; a body that changes nothing answers the task as it is. Needs task.update.
//	@Tags			tasks
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id			path		string			true	"task id"	format(uuid)
//	@Param			If-Match	header		string			false	"the version the change is based on, as the ETag of GET (\"3\")"	maxlength(32)
//	@Param			body		body		TaskPatchBody	true	"the fields to change"
//	@Success		200			{object}	TaskResponse
//	@Header			200			{string}	ETag	"the task's new version, for the next If-Match"
//	@Failure		400			{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401			{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403			{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404			{object}	middleware.ErrorBody	"resource.not_found: task \"6f1c2b9e-2d7a-4c55-9a7e-0d4f3b8a1c22\" not found"
//	@Failure		409			{object}	middleware.ErrorBody	"state.conflict: task is pending: it cannot move to completed; it may move to running, failed, cancelled | state.conflict: task is at version 3, not 2: it changed since it was read; read it again and retry"
//	@Failure		413			{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422			{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429			{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500			{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503			{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/tasks/{id} [patch]
func (h *Tasks) Update(c *gin.Context) {
	var body TaskPatchBody
	if !bindJSON(c, &body) {
		return
	}
	version, ok := versionOf(c, body.Version)
	if !ok {
		return
	}
	tenant, ok := tenantFilterOf(c, h.Tenants, "")
	if !ok {
		return
	}
	in := work.UpdateTaskInput{
		Title: body.Title, Description: body.Description, AgentID: body.AgentID, Metadata: body.Metadata, Version: version,
	}
	if body.State != nil {
		s := work.State(*body.State)
		in.State = &s
	}
	t, err := h.Service.UpdateTask(c.Request.Context(), actorOf(c), tenant, c.Param("id"), in)
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.Header("ETag", etag(t.Version))
	c.JSON(http.StatusOK, taskResponse(t))
}

// Delete godoc
//
//	@Summary		Delete a task
//	@ID			deleteTask
//	@Description	Soft delete: the task is no longer listed or found, its history and audit entries stay; the answer is the task as deleted (deleted_at set, version + 1). A task in progress (running, review or escalated) is 409 state.conflict: move it to failed or cancelled first. If-Match, when sent, must name the current version. Audited as task.delete. Needs task.delete.
//	@Tags			tasks
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id			path	string	true	"task id"	format(uuid)
//	@Param			If-Match	header	string	false	"the version the deletion is based on (\"3\")"	maxlength(32)
//	@Success		200	{object}	TaskResponse
//	@Failure		401	{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403	{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404	{object}	middleware.ErrorBody	"resource.not_found: task \"6f1c2b9e-2d7a-4c55-9a7e-0d4f3b8a1c22\" not found"
//	@Failure		409	{object}	middleware.ErrorBody	"state.conflict: task is running: a task in progress cannot be deleted; move it to failed or cancelled first"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429	{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500	{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503	{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/tasks/{id} [delete]
func (h *Tasks) Delete(c *gin.Context) {
	version, ok := versionOf(c, nil)
	if !ok {
		return
	}
	tenant, ok := tenantFilterOf(c, h.Tenants, "")
	if !ok {
		return
	}
	t, err := h.Service.DeleteTask(c.Request.Context(), actorOf(c), tenant, c.Param("id"), version)
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, taskResponse(t))
}

// Events godoc
//
//	@Summary		A task's history
//	@ID			listTaskEvents
//	@Description	Every change of the task, newest first, keyset paged: created, updated (fields, with old and new values), state (from_state → to_state, with the escalation that caused it), deleted. Each is written in the transaction of its change. Needs task.view.
//	@Tags			tasks
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id		path		string	true	"task id"										format(uuid)
//	@Param			limit	query		int		false	"page size; larger values are capped at 200"	minimum(1)	maximum(200)	default(50)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"				maxlength(512)
//	@Success		200		{object}	TaskEventList
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: task \"6f1c2b9e-2d7a-4c55-9a7e-0d4f3b8a1c22\" not found"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/tasks/{id}/events [get]
func (h *Tasks) Events(c *gin.Context) {
	var q pageQuery
	if !bindQuery(c, &q) {
		return
	}
	tenant, ok := tenantFilterOf(c, h.Tenants, "")
	if !ok {
		return
	}
	p, err := h.Service.TaskEvents(c.Request.Context(), work.EventFilter{TenantID: tenant, TaskID: c.Param("id"), Cursor: q.Cursor, Limit: q.Limit})
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := TaskEventList{Items: convert(p.Items, taskEventResponse), NextCursor: nextCursor(p.NextCursor)}
	c.JSON(http.StatusOK, out)
}

// versionOf is the version a change is based on: the If-Match header
// ("3", W/"3" or 3) or the body's version; both must agree.
func versionOf(c *gin.Context, body *int64) (*int64, bool) {
	raw := strings.TrimSpace(c.GetHeader("If-Match"))
	if raw == "" {
		return body, true
	}
	n, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(raw, "W/"), `"`), 10, 64)
	switch {
	case err != nil || n < 1:
		_ = c.Error(errs.Validation(errs.FieldError{Field: "If-Match", Message: `must be a task version such as "3" (the ETag of GET /tasks/{id})`}))
		return nil, false
	case body != nil && *body != n:
		_ = c.Error(errs.Validation(errs.FieldError{Field: "version", Message: "must equal the If-Match header when both are sent"}))
		return nil, false
	}
	return &n, true
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

func taskResponse(t work.Task) TaskResponse {
	next := t.State.Next()
	allowed := make([]string, len(next))
	for i, s := range next {
		allowed[i] = string(s)
	}
	return TaskResponse{
		ID: t.ID, TenantID: t.TenantID, Title: t.Title, Description: t.Description, AgentID: optional(t.AgentID),
		State: string(t.State), AllowedStates: allowed, Metadata: t.Metadata, Version: t.Version,
		CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, DeletedAt: t.DeletedAt,
	}
}

func taskEventResponse(e work.TaskEvent) TaskEventResponse {
	return TaskEventResponse{
		ID: e.ID, Kind: e.Kind, FromState: optional(string(e.FromState)), ToState: optional(string(e.ToState)),
		Changes: e.Changes, Version: e.Version, Actor: e.Actor, RequestID: e.RequestID, CreatedAt: e.CreatedAt,
	}
}

// optional is nil for "", for the nullable fields of answers.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
