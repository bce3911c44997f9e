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
	"github.com/golden-architecture/control-plane/services/tenants"
)

// TenantService is what the tenant routes need (services/tenants implements it).
type TenantService interface {
	Create(ctx context.Context, actor audit.Actor, in tenants.CreateInput) (tenants.Tenant, error)
	Get(ctx context.Context, id string) (tenants.Tenant, error)
	Update(ctx context.Context, actor audit.Actor, id string, in tenants.UpdateInput) (tenants.Tenant, error)
	List(ctx context.Context, f tenants.ListFilter) (cursor.Page[tenants.Tenant], error)
}

var _ TenantService = (*tenants.Service)(nil)

// Tenants serves /api/v1/tenants, the platform admin's view of the tenants.
type Tenants struct {
	Service TenantService
}

// TenantCreateBody is the body of POST /api/v1/tenants.
type TenantCreateBody struct {
	// ID is a slug: 1 to 64 lowercase letters, digits, '-' and '_', starting
	// with a letter or digit. It never changes.
	ID string `json:"id" binding:"required,ident,max=64" minLength:"1" maxLength:"64" example:"acme"`
	// Name is shown to people; the id when omitted.
	Name string `json:"name,omitempty" binding:"max=800" maxLength:"200" example:"Acme Corp"`
} // @name TenantCreate

// TenantPatchBody is the body of PATCH /api/v1/tenants/{id}; an omitted field
// stays as it is.
type TenantPatchBody struct {
	Name *string `json:"name,omitempty" binding:"omitempty,max=800" minLength:"1" maxLength:"200" example:"Acme Corporation"`
} // @name TenantPatch

// TenantResponse is one tenant.
type TenantResponse struct {
	ID        string    `json:"id" example:"acme"`
	Name      string    `json:"name" example:"Acme Corp"`
	CreatedAt time.Time `json:"created_at" example:"2026-01-02T15:04:05.123456Z" format:"date-time"`
	UpdatedAt time.Time `json:"updated_at" example:"2026-01-02T15:04:05.123456Z" format:"date-time"`
} // @name Tenant

// TenantList is a page of tenants, newest first.
type TenantList struct {
	Items []TenantResponse `json:"items"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"next_cursor" example:"eyJ0IjoiMjAyNi0wMS0wMlQxNTowNDowNVoiLCJpZCI6ImFjbWUifQ" extensions:"x-nullable"`
} // @name TenantList

// tenantListQuery is the query of GET /tenants.
type tenantListQuery struct {
	Limit  int    `form:"limit" binding:"omitempty,min=1"`
	Cursor string `form:"cursor" binding:"omitempty,ident,max=512"`
}

// Register implements Resource.
func (h *Tenants) Register(api *gin.RouterGroup, _ RouteLimiter) {
	g := api.Group("/tenants", middleware.Authenticated(), middleware.Require(auth.PermSystemAdmin), middleware.PlatformOnly())
	g.GET("", h.List)
	g.POST("", h.Create)
	g.GET("/:id", h.Get)
	g.PATCH("/:id", h.Update)
}

// List godoc
//
//	@Summary		List tenants
//	@ID			listTenants
//	@Description	Newest first, keyset paged: pass next_cursor back as cursor for the next page. Besides the tenants created here, a tenant exists for DEFAULT_TENANT and for every tenant id a platform principal named on a budget route (created on first use). Platform-level: needs system.admin and an account bound to no tenant.
//	@Tags			tenants
//	@Produce		json
//	@Security		BearerAuth
//	@Param			limit	query		int		false	"page size; larger values are capped at 200"	minimum(1)	maximum(200)	default(50)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"				maxlength(512)
//	@Success		200		{object}	TenantList
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden | auth.forbidden: this endpoint is platform-level: only accounts bound to no tenant may use it"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/tenants [get]
func (h *Tenants) List(c *gin.Context) {
	var q tenantListQuery
	if !bindQuery(c, &q) {
		return
	}
	p, err := h.Service.List(c.Request.Context(), tenants.ListFilter{Cursor: q.Cursor, Limit: q.Limit})
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := TenantList{Items: convert(p.Items, tenantResponse), NextCursor: nextCursor(p.NextCursor)}
	c.JSON(http.StatusOK, out)
}

// Create godoc
//
//	@Summary		Create a tenant
//	@ID			createTenant
//	@Description	Adds a tenant with a slug id (1 to 64 lowercase letters, digits, '-' and '_', starting with a letter or digit) that never changes, and a display name (the id when omitted). Audited as tenant.create. A taken id is 409. Platform-level: needs system.admin and an account bound to no tenant.
//	@Tags			tenants
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			body	body		TenantCreateBody	true	"the new tenant"
//	@Success		201		{object}	TenantResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden | auth.forbidden: this endpoint is platform-level: only accounts bound to no tenant may use it"
//	@Failure		409		{object}	middleware.ErrorBody	"state.conflict: tenant \"acme\" already exists"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/tenants [post]
func (h *Tenants) Create(c *gin.Context) {
	var body TenantCreateBody
	if !bindJSON(c, &body) {
		return
	}
	t, err := h.Service.Create(c.Request.Context(), actorOf(c), tenants.CreateInput{ID: body.ID, Name: body.Name})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusCreated, tenantResponse(t))
}

// Get godoc
//
//	@Summary		Show a tenant
//	@ID			getTenant
//	@Description	Platform-level: needs system.admin and an account bound to no tenant.
//	@Tags			tenants
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id		path		string	true	"tenant id"	maxlength(128)
//	@Success		200		{object}	TenantResponse
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden | auth.forbidden: this endpoint is platform-level: only accounts bound to no tenant may use it"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/tenants/{id} [get]
func (h *Tenants) Get(c *gin.Context) {
	t, err := h.Service.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, tenantResponse(t))
}

// Update godoc
//
//	@Summary		Change a tenant
//	@ID			updateTenant
//	@Description	Changes the display name (the id never changes); omitted fields stay. A change is audited as tenant.update with the old and new values; a body that changes nothing answers the tenant and writes nothing. Platform-level: needs system.admin and an account bound to no tenant.
//	@Tags			tenants
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id		path		string			true	"tenant id"	maxlength(128)
//	@Param			body	body		TenantPatchBody	true	"the fields to change"
//	@Success		200		{object}	TenantResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden | auth.forbidden: this endpoint is platform-level: only accounts bound to no tenant may use it"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/tenants/{id} [patch]
func (h *Tenants) Update(c *gin.Context) {
	var body TenantPatchBody
	if !bindJSON(c, &body) {
		return
	}
	t, err := h.Service.Update(c.Request.Context(), actorOf(c), c.Param("id"), tenants.UpdateInput{Name: body.Name})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, tenantResponse(t))
}

func tenantResponse(t tenants.Tenant) TenantResponse {
	return TenantResponse{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}
