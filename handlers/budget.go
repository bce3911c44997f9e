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

// Budget serves /api/v1/budget: reserving, settling and inspecting token
// budgets, each inside the tenant the caller may act in.
type Budget struct {
	Service BudgetService
	Tenants TenantResolver
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
	view, spend := middleware.Require(auth.PermBudgetView), middleware.Require(auth.PermBudgetSpend)
	g.POST("/request", spend, limits.Scope(ratelimit.ScopeBudgetRequest), h.Request)
	g.POST("/commit", spend, h.Commit)
	g.POST("/release", spend, h.Release)
	g.GET("/state", view, h.State)
	g.GET("/reservations", view, h.Reservations)
	g.PUT("/limits", middleware.Require(auth.PermBudgetConfigure), h.SetLimit)
}

// Request godoc
//
//	@Summary		Reserve tokens before a model call
//	@ID			reserveBudget
//	@Description	Moves estimated_tokens of the tenant/project budget from available to reserved in one atomic conditional statement, so concurrent requests on any number of replicas never reserve beyond the limit. A budget seen for the first time is created with BUDGET_DEFAULT_LIMIT. The reservation stays pending until committed, released or expired by the sweeper after BUDGET_RESERVATION_TTL (a pending reservation may be settled until the sweeper expires it).
//	@Description	Tenant: a caller bound to a tenant may omit tenant_id or name its own; any other tenant is 404 resource.not_found, whether it exists or not. A platform principal (an admin bound to no tenant) must name one and may name any; a tenant id it names for the first time must be a slug (1 to 64 lowercase letters, digits, '-' and '_', starting with a letter or digit) and the tenant is created with the budget.
//	@Description	Idempotency: send an Idempotency-Key header (or a body request_id). A retry with the same key and the same fields returns the first approval with the header Idempotency-Replayed: true, also when retries race; the same key with other fields is 409 idempotency.conflict. An insufficient answer is not stored: a retry with the same key is evaluated afresh. Keys are scoped to the caller (user or API key) and the tenant/project: another caller's key is never replayed nor in conflict.
//	@Description	Needs budget.spend. Rate limited by RATE_LIMIT_BUDGET_REQUEST (default 30/min) per caller, on top of the role limit.
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
//	@Failure		404				{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
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
	key, ok := headerIdent(c, headerIdempotencyKey)
	if !ok {
		return
	}
	switch {
	case key == "":
		key = body.RequestID
	case body.RequestID != "" && body.RequestID != key:
		_ = c.Error(errs.Validation(errs.FieldError{
			Field: "request_id", Message: "must equal the Idempotency-Key header when both are sent",
		}))
		return
	}
	tenant, ok := tenantOf(c, h.Tenants, body.TenantID)
	if !ok {
		return
	}
	a, err := h.Service.Request(c.Request.Context(), actorOf(c), budget.RequestInput{
		TenantID: tenant, ProjectID: body.ProjectID, TaskID: body.TaskID, Model: body.Model,
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
//	@Description	reserved shrinks by the reservation's tokens and used grows by actual_tokens, which may exceed the estimate up to estimated_tokens × BUDGET_COMMIT_MAX_RATIO (default 2; used may then pass the total, and GET /budget/state reports it as overdrawn). More is 422 with details.max_actual_tokens: an estimate is the caller's worst case, so a commit far above it is a bug or an abuse, and without the cap one commit could overdraw a budget without limit. Exactly one of concurrent commits, releases and the sweeper settles a reservation. Committing again with the same actual_tokens returns the same answer; with other tokens, or after a release or expiry, it is 409 state.conflict.
//	@Description	tenant_id as for POST /budget/request: a reservation of another tenant is 404. Needs budget.spend.
//	@Tags			budget
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			body	body		BudgetCommitBody	true	"the reservation and the tokens used"
//	@Success		200		{object}	BudgetSettlement
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: reservation not found for this tenant and project | resource.not_found: tenant \"acme\" not found"
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
	tenant, ok := tenantOf(c, h.Tenants, body.TenantID)
	if !ok {
		return
	}
	s, err := h.Service.Commit(c.Request.Context(), actorOf(c), budget.CommitInput{
		TenantID: tenant, ProjectID: body.ProjectID, ReservationID: body.ReservationID, ActualTokens: body.ActualTokens,
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
//	@Description	Returns the reservation's tokens to the budget. Releasing again returns the same answer; releasing a committed or expired reservation is 409 state.conflict. tenant_id as for POST /budget/request: a reservation of another tenant is 404. Needs budget.spend.
//	@Tags			budget
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			body	body		BudgetReleaseBody	true	"the reservation"
//	@Success		200		{object}	BudgetSettlement
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: reservation not found for this tenant and project | resource.not_found: tenant \"acme\" not found"
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
	tenant, ok := tenantOf(c, h.Tenants, body.TenantID)
	if !ok {
		return
	}
	s, err := h.Service.Release(c.Request.Context(), actorOf(c), budget.ReleaseInput{
		TenantID: tenant, ProjectID: body.ProjectID, ReservationID: body.ReservationID,
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
//	@Description	total, used, reserved, available (total - used - reserved, never below 0), overdrawn (how far used + reserved exceed total) and the number of pending reservations, read in one snapshot. A tenant/project never seen reports BUDGET_DEFAULT_LIMIT with zero usage and is not created. tenant_id as for POST /budget/request: a caller bound to a tenant may omit it, another tenant is 404. Needs budget.view.
//	@Tags			budget
//	@Produce		json
//	@Security		BearerAuth
//	@Param			tenant_id	query		string	false	"tenant; required for a platform principal, the caller's own when omitted"	maxlength(128)
//	@Param			project_id	query		string	true	"project"	minlength(1)	maxlength(128)
//	@Success		200			{object}	BudgetState
//	@Failure		401			{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403			{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404			{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
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
	tenant, ok := tenantOf(c, h.Tenants, q.TenantID)
	if !ok {
		return
	}
	s, err := h.Service.State(c.Request.Context(), tenant, q.ProjectID)
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
//	@Description	Sets total_limit of the tenant/project, creating the budget when it is new (and its tenant, when a platform principal names a new one). Lowering it below used + reserved is allowed: pending reservations stay valid, new requests are refused, and the state reports available 0 and the excess as overdrawn. Recorded as a limit_set ledger row and a budget.limit_set audit entry with the old and new totals. Answers the new state. tenant_id as for POST /budget/request. Needs budget.configure.
//	@Tags			budget
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			body	body		BudgetLimitBody	true	"the budget and its new total"
//	@Success		200		{object}	BudgetState
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
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
	tenant, ok := tenantOf(c, h.Tenants, body.TenantID)
	if !ok {
		return
	}
	s, err := h.Service.SetLimit(c.Request.Context(), actorOf(c), tenant, body.ProjectID, *body.TotalLimit)
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
//	@Description	Newest first, keyset paged: pass next_cursor back as cursor for the next page; every reservation is returned once even while new ones arrive. A caller bound to a tenant sees only its tenant's reservations (naming another tenant is 404); a platform principal sees every tenant's unless it names one. idempotency_key is the key as its sender sent it; keys are scoped per caller, so another caller's key cannot replay its reservation. Needs budget.view.
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
//	@Failure		404			{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
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
	tenant, ok := tenantFilterOf(c, h.Tenants, q.TenantID)
	if !ok {
		return
	}
	p, err := h.Service.List(c.Request.Context(), budget.ListFilter{
		TenantID: tenant, ProjectID: q.ProjectID, Status: budget.Status(q.Status), Cursor: q.Cursor, Limit: q.Limit,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, budgetReservationList(p))
}
