package handlers

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/budget"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/ratelimit"
)

// BudgetService is what the budget routes need (services/budget implements it).
type BudgetService interface {
	Request(ctx context.Context, actor audit.Actor, in budget.RequestInput) (budget.Approval, error)
	Commit(ctx context.Context, actor audit.Actor, in budget.CommitInput) (budget.Settlement, error)
	Release(ctx context.Context, actor audit.Actor, in budget.ReleaseInput) (budget.Settlement, error)
	State(ctx context.Context, tenant, project string) (budget.State, error)
	SetLimit(ctx context.Context, actor audit.Actor, tenant, project string, total int64) (budget.State, error)
	List(ctx context.Context, f budget.ListFilter) (cursor.Page[budget.Reservation], error)
}

var _ BudgetService = (*budget.Service)(nil)

// Budget serves /api/v1/budget: reserving, settling and inspecting token budgets.
type Budget struct {
	Service BudgetService
}

// Idempotency headers of POST /budget/request.
const (
	headerIdempotencyKey = "Idempotency-Key"
	// headerReplayed marks an answer that repeats the stored first answer.
	headerReplayed = "Idempotency-Replayed"
)

// Register implements Resource.
func (h *Budget) Register(api *gin.RouterGroup, limits RouteLimiter) {
	g := api.Group("/budget", middleware.Authenticated())
	view := middleware.Require(auth.PermBudgetView)
	g.POST("/request", view, limits.Scope(ratelimit.ScopeBudgetRequest), h.Request)
	g.POST("/commit", view, h.Commit)
	g.POST("/release", view, h.Release)
	g.GET("/state", view, h.State)
	g.GET("/reservations", view, h.Reservations)
	g.PUT("/limits", middleware.Require(auth.PermBudgetConfigure), h.SetLimit)
}

// Request godoc
//
//	@Summary		Reserve tokens before a model call
//	@ID			reserveBudget
//	@Description	Moves estimated_tokens of the tenant/project budget from available to reserved in one atomic conditional statement, so concurrent requests on any number of replicas never reserve beyond the limit. A budget seen for the first time is created with BUDGET_DEFAULT_LIMIT. The reservation stays pending until committed, released or expired by the sweeper after BUDGET_RESERVATION_TTL (a pending reservation may be settled until the sweeper expires it).
//	@Description	Idempotency: send an Idempotency-Key header (or a body request_id). A retry with the same key and the same fields returns the first approval with the header Idempotency-Replayed: true, also when retries race; the same key with other fields is 409 idempotency.conflict. An insufficient answer is not stored: a retry with the same key is evaluated afresh. Keys are scoped to the tenant/project.
//	@Description	Needs budget.view. Rate limited by RATE_LIMIT_BUDGET_REQUEST (default 30/min) per caller, on top of the role limit.
//	@Tags			budget
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			Idempotency-Key	header		string				false	"makes retries safe; at most 128 printable ASCII characters"	maxlength(128)
//	@Param			body			body		BudgetRequestBody	true	"what to reserve"
//	@Success		200				{object}	BudgetApproval
//	@Failure		400				{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401				{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403				{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		409				{object}	middleware.ErrorBody	"budget.insufficient | idempotency.conflict"
//	@Failure		413				{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422				{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429				{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500				{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503				{object}	middleware.ErrorBody	"service.unavailable"
//	@Header			200				{string}	Idempotency-Replayed	"true when this is the stored answer of an earlier call with the same key"
//	@Router			/api/v1/budget/request [post]
func (h *Budget) Request(c *gin.Context) {
	var body BudgetRequestBody
	if !bindJSON(c, &body) {
		return
	}
	key := c.GetHeader(headerIdempotencyKey)
	switch {
	case key == "":
		key = body.RequestID
	case body.RequestID != "" && body.RequestID != key:
		_ = c.Error(errs.Validation(errs.FieldError{
			Field: "request_id", Message: "must equal the Idempotency-Key header when both are sent",
		}))
		return
	}
	a, err := h.Service.Request(c.Request.Context(), actorOf(c), budget.RequestInput{
		TenantID: body.TenantID, ProjectID: body.ProjectID, TaskID: body.TaskID, Model: body.Model,
		Purpose: body.Purpose, EstimatedTokens: body.EstimatedTokens, IdempotencyKey: key,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	if a.Replayed {
		c.Header(headerReplayed, "true")
	}
	c.JSON(http.StatusOK, budgetApproval(a))
}

// Commit godoc
//
//	@Summary		Settle a reservation with the tokens really used
//	@ID			commitReservation
//	@Description	reserved shrinks by the reservation's tokens and used grows by actual_tokens, which may exceed the estimate (used may then pass the total; GET /budget/state reports it as overdrawn). Exactly one of concurrent commits, releases and the sweeper settles a reservation. Committing again with the same actual_tokens returns the same answer; with other tokens, or after a release or expiry, it is 409 state.conflict. Needs budget.view.
//	@Tags			budget
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			body	body		BudgetCommitBody	true	"the reservation and the tokens used"
//	@Success		200		{object}	BudgetSettlement
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: reservation not found for this tenant and project"
//	@Failure		409		{object}	middleware.ErrorBody	"state.conflict: the reservation is released and cannot be committed | state.conflict: the reservation was already committed with other actual tokens"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/budget/commit [post]
func (h *Budget) Commit(c *gin.Context) {
	var body BudgetCommitBody
	if !bindJSON(c, &body) {
		return
	}
	s, err := h.Service.Commit(c.Request.Context(), actorOf(c), budget.CommitInput{
		TenantID: body.TenantID, ProjectID: body.ProjectID, ReservationID: body.ReservationID, ActualTokens: body.ActualTokens,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, budgetSettlement(s))
}

// Release godoc
//
//	@Summary		Cancel a reservation
//	@ID			releaseReservation
//	@Description	Returns the reservation's tokens to the budget. Releasing again returns the same answer; releasing a committed or expired reservation is 409 state.conflict. Needs budget.view.
//	@Tags			budget
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			body	body		BudgetReleaseBody	true	"the reservation"
//	@Success		200		{object}	BudgetSettlement
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: reservation not found for this tenant and project"
//	@Failure		409		{object}	middleware.ErrorBody	"state.conflict: the reservation is committed and cannot be released"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/budget/release [post]
func (h *Budget) Release(c *gin.Context) {
	var body BudgetReleaseBody
	if !bindJSON(c, &body) {
		return
	}
	s, err := h.Service.Release(c.Request.Context(), actorOf(c), budget.ReleaseInput{
		TenantID: body.TenantID, ProjectID: body.ProjectID, ReservationID: body.ReservationID,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, budgetSettlement(s))
}

// State godoc
//
//	@Summary		Show a budget
//	@ID			getBudgetState
//	@Description	total, used, reserved, available (total - used - reserved, never below 0), overdrawn (how far used + reserved exceed total) and the number of pending reservations, read in one snapshot. A tenant/project never seen reports BUDGET_DEFAULT_LIMIT with zero usage and is not created. Needs budget.view.
//	@Tags			budget
//	@Produce		json
//	@Security		BearerAuth
//	@Param			tenant_id	query		string	true	"tenant"	minlength(1)	maxlength(128)
//	@Param			project_id	query		string	true	"project"	minlength(1)	maxlength(128)
//	@Success		200			{object}	BudgetState
//	@Failure		401			{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403			{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		422			{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429			{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500			{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503			{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/budget/state [get]
func (h *Budget) State(c *gin.Context) {
	var q budgetStateQuery
	if !bindQuery(c, &q) {
		return
	}
	s, err := h.Service.State(c.Request.Context(), q.TenantID, q.ProjectID)
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, budgetState(s))
}

// SetLimit godoc
//
//	@Summary		Create or change a budget's limit
//	@ID			setBudgetLimit
//	@Description	Sets total_limit of the tenant/project, creating the budget when it is new. Lowering it below used + reserved is allowed: pending reservations stay valid, new requests are refused, and the state reports available 0 and the excess as overdrawn. Recorded as a limit_set ledger row and a budget.limit_set audit entry with the old and new totals. Answers the new state. Needs budget.configure.
//	@Tags			budget
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			body	body		BudgetLimitBody	true	"the budget and its new total"
//	@Success		200		{object}	BudgetState
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/budget/limits [put]
func (h *Budget) SetLimit(c *gin.Context) {
	var body BudgetLimitBody
	if !bindJSON(c, &body) {
		return
	}
	s, err := h.Service.SetLimit(c.Request.Context(), actorOf(c), body.TenantID, body.ProjectID, *body.TotalLimit)
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, budgetState(s))
}

// Reservations godoc
//
//	@Summary		List reservations
//	@ID			listReservations
//	@Description	Newest first, keyset paged: pass next_cursor back as cursor for the next page; every reservation is returned once even while new ones arrive. Needs budget.view.
//	@Tags			budget
//	@Produce		json
//	@Security		BearerAuth
//	@Param			tenant_id	query		string	false	"only this tenant"								maxlength(128)
//	@Param			project_id	query		string	false	"only this project"								maxlength(128)
//	@Param			status		query		string	false	"only this status"								Enums(pending, committed, released, expired)
//	@Param			limit		query		int		false	"page size; larger values are capped at 200"	minimum(1)	maximum(200)	default(50)
//	@Param			cursor		query		string	false	"next_cursor of the previous page"				maxlength(512)
//	@Success		200			{object}	BudgetReservationList
//	@Failure		401			{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403			{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		422			{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429			{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500			{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503			{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/budget/reservations [get]
func (h *Budget) Reservations(c *gin.Context) {
	var q budgetListQuery
	if !bindQuery(c, &q) {
		return
	}
	p, err := h.Service.List(c.Request.Context(), budget.ListFilter{
		TenantID: q.TenantID, ProjectID: q.ProjectID, Status: budget.Status(q.Status), Cursor: q.Cursor, Limit: q.Limit,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, budgetReservationList(p))
}
