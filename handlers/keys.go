package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/apikeys"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/cursor"
)

// KeyService is what the API key routes need (services/apikeys implements it).
type KeyService interface {
	Create(ctx context.Context, actor audit.Actor, in apikeys.CreateInput) (apikeys.Created, error)
	List(ctx context.Context, f apikeys.ListFilter) (cursor.Page[apikeys.Key], error)
	Get(ctx context.Context, tenant, id string) (apikeys.Key, error)
	Revoke(ctx context.Context, actor audit.Actor, tenant, id string) (apikeys.Key, error)
	Rotate(ctx context.Context, actor audit.Actor, tenant, id string, grace time.Duration) (apikeys.Created, error)
}

var _ KeyService = (*apikeys.Service)(nil)

// Keys serves /api/v1/keys: the API keys of automated clients (DESIGN §7).
type Keys struct {
	Service KeyService
	Tenants TenantResolver
	// Now is the clock of a key's status; time.Now when nil.
	Now func() time.Time
}

// KeyCreateBody is the body of POST /api/v1/keys.
type KeyCreateBody struct {
	// Name says what the key is for; it need not be unique.
	Name string `json:"name" binding:"required,max=800" minLength:"1" maxLength:"200" example:"ci-deployer"`
	// Role is at most the creator's: its permissions are a subset of the
	// creator's.
	Role string `json:"role" binding:"required,ident,max=32" enums:"admin,operator,developer,observer" example:"developer"`
	// TenantID is the key's tenant. A tenant-bound caller's own tenant when
	// omitted; another tenant is 404. A platform principal may name any
	// existing tenant, or none for a platform key (admin role only).
	TenantID string `json:"tenant_id,omitempty" binding:"omitempty,ident,max=128" maxLength:"128" example:"default"`
	// ProjectID binds the key to one project (the LLM gateway spends on its
	// budget); omitted for none.
	ProjectID string `json:"project_id,omitempty" binding:"omitempty,ident,max=512" maxLength:"128" example:"support-bot"`
	// ExpiresAt ends the key; omitted for never. Must be in the future.
	ExpiresAt *time.Time `json:"expires_at,omitempty" format:"date-time" example:"2030-01-02T15:04:05Z"`
	// RateLimit is the key's own limit, replacing its role's (RATE_LIMIT_<ROLE>):
	// requests per second, minute, hour or day, like RATE_LIMIT_* take them.
	RateLimit string `json:"rate_limit,omitempty" binding:"omitempty,ident,max=32" maxLength:"32" example:"600-M"`
	// TokensPerMinute caps the LLM tokens the key's calls through the
	// gateway (POST /chat/completions) use per minute, across replicas;
	// omitted for no limit.
	TokensPerMinute *int64 `json:"tokens_per_minute,omitempty" minimum:"1" maximum:"1000000000" example:"100000"`
} // @name KeyCreate

// KeyRotateBody is the body of POST /api/v1/keys/{id}/rotate.
type KeyRotateBody struct {
	// GraceSeconds keeps the old secret working this long after the
	// rotation (0, the default, ends it at once; at most 7 days).
	GraceSeconds int64 `json:"grace_seconds" minimum:"0" maximum:"604800" example:"3600"`
} // @name KeyRotate

// KeyResponse is an API key: never its secret.
type KeyResponse struct {
	ID   string `json:"id" format:"uuid" example:"0b9d3f2e-5c1a-4e7b-9f3d-2a6c8e1b4d70"`
	Name string `json:"name" example:"ci-deployer"`
	Role string `json:"role" enums:"admin,operator,developer,observer" example:"developer"`
	// TenantID is null for a platform key.
	TenantID *string `json:"tenant_id" example:"default" extensions:"x-nullable"`
	// ProjectID is null when the key is bound to no project.
	ProjectID *string `json:"project_id" example:"support-bot" extensions:"x-nullable"`
	// Prefix and LastFour tell which secret this is: "gak_AbC1…wXyZ".
	Prefix   string `json:"prefix" example:"gak_AbC1"`
	LastFour string `json:"last_four" example:"wXyZ"`
	// RateLimit is the key's own limit; null uses its role's.
	RateLimit *string `json:"rate_limit" example:"600-M" extensions:"x-nullable"`
	// TokensPerMinute caps the LLM tokens of the key's gateway calls per
	// minute; null for no limit.
	TokensPerMinute *int64 `json:"tokens_per_minute" example:"100000" extensions:"x-nullable"`
	// Status is active, expired or revoked.
	Status    string     `json:"status" enums:"active,expired,revoked" example:"active"`
	ExpiresAt *time.Time `json:"expires_at" format:"date-time" example:"2030-01-02T15:04:05Z" extensions:"x-nullable"`
	// CreatedBy is the id of the user who created the key; the key is
	// refused while that user is disabled.
	CreatedBy string     `json:"created_by" format:"uuid" example:"7c1e4b9a-2f3d-4e5a-8b6c-9d0e1f2a3b4c"`
	CreatedAt time.Time  `json:"created_at" format:"date-time" example:"2026-01-02T15:04:05.123456Z"`
	RotatedAt *time.Time `json:"rotated_at" format:"date-time" example:"2026-02-02T15:04:05.123456Z" extensions:"x-nullable"`
	// PreviousExpiresAt is when the secret the last rotation replaced stops
	// working; null when it no longer works.
	PreviousExpiresAt *time.Time `json:"previous_expires_at" format:"date-time" example:"2026-02-02T16:04:05.123456Z" extensions:"x-nullable"`
	RevokedAt         *time.Time `json:"revoked_at" format:"date-time" example:"2026-03-02T15:04:05.123456Z" extensions:"x-nullable"`
	// LastUsedAt is written at most once a minute.
	LastUsedAt *time.Time `json:"last_used_at" format:"date-time" example:"2026-02-02T15:00:00.123456Z" extensions:"x-nullable"`
} // @name Key

// KeyCreated is a new or rotated key with its secret, shown this once: the
// server keeps only its SHA-256.
type KeyCreated struct {
	KeyResponse
	// Secret is sent as "Authorization: Bearer <secret>" or "X-API-Key: <secret>".
	Secret string `json:"secret" example:"gak_AbC1d2E3f4G5h6I7j8K9l0M1n2O3p4Q5r6S7t8UwXyZ"`
} // @name KeyCreated

// KeyList is a page of keys, newest first.
type KeyList struct {
	Items []KeyResponse `json:"items"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"next_cursor" example:"eyJ0IjoiMjAyNi0wMS0wMlQxNTowNDowNVoiLCJpZCI6ImFjbWUifQ" extensions:"x-nullable"`
} // @name KeyList

// keyListQuery is the query of GET /keys.
type keyListQuery struct {
	TenantID string `form:"tenant_id" binding:"omitempty,ident,max=128"`
	Limit    int    `form:"limit" binding:"omitempty,min=1"`
	Cursor   string `form:"cursor" binding:"omitempty,max=512"`
}

// Register implements Resource.
func (h *Keys) Register(api *gin.RouterGroup, _ RouteLimiter) {
	g := api.Group("/keys", middleware.Authenticated(), middleware.Require(auth.PermKeyManage))
	g.POST("", h.Create)
	g.GET("", h.List)
	g.GET("/:id", h.Get)
	g.DELETE("/:id", h.Revoke)
	g.POST("/:id/rotate", h.Rotate)
}

// Create godoc
//
//	@Summary		Create an API key
//	@ID			createKey
//	@Description	Creates a key for an automated client and answers its secret, once: `gak_` and 43 base62 characters (32 random bytes). The server keeps its SHA-256, a display prefix and the last four characters. Send it as `Authorization: Bearer gak_…` (OpenAI SDKs do) or `X-API-Key: gak_…`. The key acts with its own role (at most the creator's: 403 otherwise), tenant, optional project, optional rate limit (which replaces its role's, counted per key across replicas) and optional tokens_per_minute, the most LLM tokens its calls through POST /chat/completions may use per minute across replicas (a worst case that does not fit is 429 with Retry-After). A tenant-bound caller creates keys in its own tenant (naming another is 404); a platform principal names an existing tenant, or none for a platform key, which must have the admin role. The key stops working when it expires, is revoked, or its creator is disabled. Audited as key.create. Needs key.manage.
//	@Tags			keys
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			body	body		KeyCreateBody	true	"the new key"
//	@Success		201		{object}	KeyCreated
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden | auth.forbidden: role operator may not create a key of role admin: a key's role is at most its creator's"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/keys [post]
func (h *Keys) Create(c *gin.Context) {
	var body KeyCreateBody
	if !bindJSON(c, &body) {
		return
	}
	tenant := ""
	if id, _ := middleware.IdentityFrom(c); !id.Platform() || body.TenantID != "" {
		var ok bool
		if tenant, ok = tenantOf(c, h.Tenants, body.TenantID); !ok {
			return
		}
	}
	created, err := h.Service.Create(c.Request.Context(), actorOf(c), apikeys.CreateInput{
		Name: body.Name, Role: auth.Role(body.Role), TenantID: tenant, ProjectID: body.ProjectID,
		ExpiresAt: body.ExpiresAt, RateLimit: body.RateLimit, TokensPerMinute: body.TokensPerMinute,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusCreated, h.created(created))
}

// List godoc
//
//	@Summary		List API keys
//	@ID			listKeys
//	@Description	Newest first, keyset paged: pass next_cursor back as cursor for the next page. Never shows a secret. A tenant-bound caller sees its tenant's keys (naming another tenant is 404); a platform principal sees every key, or one tenant's with tenant_id. Needs key.manage.
//	@Tags			keys
//	@Produce		json
//	@Security		BearerAuth
//	@Param			tenant_id	query		string	false	"only this tenant's keys"							maxlength(128)
//	@Param			limit		query		int		false	"page size; larger values are capped at 200"	minimum(1)	maximum(200)	default(50)
//	@Param			cursor		query		string	false	"next_cursor of the previous page"				maxlength(512)
//	@Success		200			{object}	KeyList
//	@Failure		401			{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403			{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404			{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
//	@Failure		422			{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429			{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500			{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503			{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/keys [get]
func (h *Keys) List(c *gin.Context) {
	var q keyListQuery
	if !bindQuery(c, &q) {
		return
	}
	tenant, ok := tenantFilterOf(c, h.Tenants, q.TenantID)
	if !ok {
		return
	}
	p, err := h.Service.List(c.Request.Context(), apikeys.ListFilter{TenantID: tenant, Cursor: q.Cursor, Limit: q.Limit})
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := KeyList{Items: convert(p.Items, h.response), NextCursor: nextCursor(p.NextCursor)}
	c.JSON(http.StatusOK, out)
}

// Get godoc
//
//	@Summary		Show an API key
//	@ID			getKey
//	@Description	Never shows the secret. Another tenant's key is 404, as one that does not exist. Needs key.manage.
//	@Tags			keys
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id		path		string	true	"key id (UUID)"	format(uuid)
//	@Success		200		{object}	KeyResponse
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: api key \"0b9d3f2e-5c1a-4e7b-9f3d-2a6c8e1b4d70\" not found"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/keys/{id} [get]
func (h *Keys) Get(c *gin.Context) {
	id, _ := middleware.IdentityFrom(c)
	k, err := h.Service.Get(c.Request.Context(), id.TenantID, c.Param("id"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, h.response(k))
}

// Revoke godoc
//
//	@Summary		Revoke an API key
//	@ID			revokeKey
//	@Description	Ends the key at once on this server and within one second on every other replica (each trusts a checked key for one second). Answers the key with revoked_at; revoking a revoked key changes nothing. Another tenant's key is 404. Audited as key.revoke. Needs key.manage.
//	@Tags			keys
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id		path		string	true	"key id (UUID)"	format(uuid)
//	@Success		200		{object}	KeyResponse
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: api key \"0b9d3f2e-5c1a-4e7b-9f3d-2a6c8e1b4d70\" not found"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/keys/{id} [delete]
func (h *Keys) Revoke(c *gin.Context) {
	id, _ := middleware.IdentityFrom(c)
	k, err := h.Service.Revoke(c.Request.Context(), actorOf(c), id.TenantID, c.Param("id"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, h.response(k))
}

// Rotate godoc
//
//	@Summary		Rotate an API key
//	@ID			rotateKey
//	@Description	Gives the key a new secret, answered once, and keeps the old one working for grace_seconds (0 by default: it stops at once; within one second on every replica). A secret an earlier rotation kept in grace stops at once. The key keeps its id, role, tenant, project, limit and counters. The caller's role must include the key's (the new secret acts as the key): 403 otherwise. A revoked or expired key is 409. Another tenant's key is 404. Audited as key.rotate. Needs key.manage.
//	@Tags			keys
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id		path		string			true	"key id (UUID)"	format(uuid)
//	@Param			body	body		KeyRotateBody	true	"the grace period of the old secret"
//	@Success		200		{object}	KeyCreated
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden | auth.forbidden: role operator may not rotate a key of role admin: the new secret would act as that role"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: api key \"0b9d3f2e-5c1a-4e7b-9f3d-2a6c8e1b4d70\" not found"
//	@Failure		409		{object}	middleware.ErrorBody	"state.conflict: api key \"0b9d3f2e-5c1a-4e7b-9f3d-2a6c8e1b4d70\" is revoked"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/keys/{id}/rotate [post]
func (h *Keys) Rotate(c *gin.Context) {
	var body KeyRotateBody
	if !bindJSON(c, &body) {
		return
	}
	id, _ := middleware.IdentityFrom(c)
	created, err := h.Service.Rotate(c.Request.Context(), actorOf(c), id.TenantID, c.Param("id"), time.Duration(body.GraceSeconds)*time.Second)
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, h.created(created))
}

func (h *Keys) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Keys) created(c apikeys.Created) KeyCreated {
	return KeyCreated{KeyResponse: h.response(c.Key), Secret: c.Secret}
}

func (h *Keys) response(k apikeys.Key) KeyResponse {
	r := KeyResponse{
		ID: k.ID, Name: k.Name, Role: string(k.Role), Prefix: k.Prefix, LastFour: k.LastFour,
		Status: k.Status(h.now()), ExpiresAt: k.ExpiresAt, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt,
		RotatedAt: k.RotatedAt, PreviousExpiresAt: k.PreviousExpiresAt, RevokedAt: k.RevokedAt, LastUsedAt: k.LastUsedAt,
	}
	if k.TenantID != "" {
		r.TenantID = &k.TenantID
	}
	if k.ProjectID != "" {
		r.ProjectID = &k.ProjectID
	}
	if k.RateLimit != "" {
		r.RateLimit = &k.RateLimit
	}
	if k.TokensPerMinute > 0 {
		r.TokensPerMinute = &k.TokensPerMinute
	}
	return r
}
