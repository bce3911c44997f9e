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
	"github.com/golden-architecture/control-plane/services/errs"
)

// UserService is what the user routes need (services/auth implements it).
type UserService interface {
	ListUsers(ctx context.Context, f auth.UserFilter) (cursor.Page[auth.User], error)
	GetUser(ctx context.Context, id string) (auth.User, error)
	CreateUser(ctx context.Context, actor audit.Actor, in auth.NewUser) (auth.User, error)
	UpdateUser(ctx context.Context, actor audit.Actor, id string, ch auth.UserChange) (auth.User, error)
	ResetPassword(ctx context.Context, actor audit.Actor, id, password string) (auth.User, error)
}

var _ UserService = (*auth.Service)(nil)

// Users serves /api/v1/users, the platform admin's management of accounts
// (the `users` subcommand of the CLI does the same from a shell).
type Users struct {
	Service UserService
}

// UserCreateBody is the body of POST /api/v1/users.
type UserCreateBody struct {
	// Username is stored trimmed and lowercased: 1 to 64 of a-z, 0-9 and . _ @ -.
	Username string `json:"username" binding:"required,ident,max=128" minLength:"1" maxLength:"64" example:"alice"`
	// Password is 8 to 72 bytes (bcrypt's limit; longer ones are refused, never truncated).
	Password string `json:"password" binding:"required,max=1024" minLength:"8" maxLength:"72" example:"correct horse battery"`
	Role     string `json:"role" binding:"required,ident,max=32" enums:"admin,operator,developer,observer" example:"operator"`
	// TenantID is the account's tenant, which must exist. Omitted or empty
	// makes a platform principal (bound to no tenant), which only an admin
	// may be.
	TenantID string `json:"tenant_id,omitempty" binding:"omitempty,ident,max=128" maxLength:"128" example:"default"`
} // @name UserCreate

// UserPatchBody is the body of PATCH /api/v1/users/{id}; an omitted (or
// null) field stays as it is.
type UserPatchBody struct {
	Role *string `json:"role,omitempty" binding:"omitempty,ident,max=32" enums:"admin,operator,developer,observer" example:"developer"`
	// TenantID moves the account to an existing tenant; "" makes it a
	// platform principal (admin role only).
	TenantID *string `json:"tenant_id,omitempty" binding:"omitempty,ident,max=128" maxLength:"128" example:"default"`
	Disabled *bool   `json:"disabled,omitempty" example:"true"`
} // @name UserPatch

// PasswordResetBody is the body of POST /api/v1/users/{id}/password.
type PasswordResetBody struct {
	// Password is the new password: 8 to 72 bytes.
	Password string `json:"password" binding:"required,max=1024" minLength:"8" maxLength:"72" example:"a new password 42"`
} // @name PasswordReset

// UserResponse is one account; never its password or hash.
type UserResponse struct {
	ID       string `json:"id" format:"uuid" example:"0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11"`
	Username string `json:"username" example:"alice"`
	Role     string `json:"role" enums:"admin,operator,developer,observer" example:"operator"`
	// TenantID is the account's tenant; null for a platform principal.
	TenantID *string `json:"tenant_id" example:"default" extensions:"x-nullable"`
	Disabled bool    `json:"disabled" example:"false"`
	// PasswordChangedAt is when the password was last set; tokens issued
	// before it no longer verify.
	PasswordChangedAt time.Time `json:"password_changed_at" example:"2026-01-02T15:04:05.123456Z" format:"date-time"`
	CreatedAt         time.Time `json:"created_at" example:"2026-01-02T15:04:05.123456Z" format:"date-time"`
	UpdatedAt         time.Time `json:"updated_at" example:"2026-01-02T15:04:05.123456Z" format:"date-time"`
} // @name User

// UserList is a page of accounts, newest first.
type UserList struct {
	Items []UserResponse `json:"items"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"next_cursor" example:"eyJ0IjoiMjAyNi0wMS0wMlQxNTowNDowNVoiLCJpZCI6IjBiOWUzZjhlIn0" extensions:"x-nullable"`
} // @name UserList

// userListQuery is the query of GET /users.
type userListQuery struct {
	Role     string `form:"role" binding:"omitempty,oneof=admin operator developer observer"`
	TenantID string `form:"tenant_id" binding:"omitempty,ident,max=128"`
	Platform bool   `form:"platform"`
	Disabled *bool  `form:"disabled"`
	Limit    int    `form:"limit" binding:"omitempty,min=1"`
	Cursor   string `form:"cursor" binding:"omitempty,ident,max=512"`
}

// Register implements Resource. User management is platform-level (DESIGN
// §7): user.manage and an account bound to no tenant.
func (h *Users) Register(api *gin.RouterGroup, _ RouteLimiter) {
	g := api.Group("/users", middleware.Authenticated(), middleware.Require(auth.PermUserManage), middleware.PlatformOnly())
	g.GET("", h.List)
	g.POST("", h.Create)
	g.GET("/:id", h.Get)
	g.PATCH("/:id", h.Update)
	g.POST("/:id/password", h.ResetPassword)
}

// List godoc
//
//	@Summary		List users
//	@ID			listUsers
//	@Description	Accounts newest first, keyset paged: pass next_cursor back as cursor for the next page. Filters combine with AND. Never shows a password or its hash. Platform-level: needs user.manage and an account bound to no tenant.
//	@Tags			users
//	@Produce		json
//	@Security		BearerAuth
//	@Param			role		query		string	false	"only accounts of this role"								Enums(admin, operator, developer, observer)
//	@Param			tenant_id	query		string	false	"only accounts of this tenant"								maxlength(128)
//	@Param			platform	query		bool	false	"only platform principals (bound to no tenant); not with tenant_id"
//	@Param			disabled	query		bool	false	"only disabled (true) or enabled (false) accounts"
//	@Param			limit		query		int		false	"page size; larger values are capped at 200"				minimum(1)	maximum(200)	default(50)
//	@Param			cursor		query		string	false	"next_cursor of the previous page"							maxlength(512)
//	@Success		200			{object}	UserList
//	@Failure		401			{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403			{object}	middleware.ErrorBody	"auth.forbidden | auth.forbidden: this endpoint is platform-level: only accounts bound to no tenant may use it"
//	@Failure		422			{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429			{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500			{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503			{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/users [get]
func (h *Users) List(c *gin.Context) {
	var q userListQuery
	if !bindQuery(c, &q) {
		return
	}
	if q.Platform && q.TenantID != "" {
		_ = c.Error(errs.Validation(errs.FieldError{Field: "platform", Message: "cannot be combined with tenant_id"}))
		return
	}
	p, err := h.Service.ListUsers(c.Request.Context(), auth.UserFilter{
		Role: auth.Role(q.Role), TenantID: q.TenantID, Platform: q.Platform, Disabled: q.Disabled,
		Cursor: q.Cursor, Limit: q.Limit,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := UserList{Items: convert(p.Items, userResponse), NextCursor: nextCursor(p.NextCursor)}
	c.JSON(http.StatusOK, out)
}

// Create godoc
//
//	@Summary		Create a user
//	@ID			createUser
//	@Description	Adds an account with the password rules of the CLI (8 to 72 bytes, bcrypt). tenant_id names an existing tenant; omitted or empty makes a platform principal, which only an admin may be. Every invalid field is named in one 422; a taken username is 409. Audited as user.create (never the password). Platform-level: needs user.manage and an account bound to no tenant.
//	@Tags			users
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			body	body		UserCreateBody	true	"the new account"
//	@Success		201		{object}	UserResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden | auth.forbidden: this endpoint is platform-level: only accounts bound to no tenant may use it"
//	@Failure		409		{object}	middleware.ErrorBody	"state.conflict: user \"alice\" already exists"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/users [post]
func (h *Users) Create(c *gin.Context) {
	var body UserCreateBody
	if !bindJSON(c, &body) {
		return
	}
	u, err := h.Service.CreateUser(c.Request.Context(), actorOf(c), auth.NewUser{
		Username: body.Username, Password: body.Password, Role: auth.Role(body.Role), TenantID: body.TenantID,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusCreated, userResponse(u))
}

// Get godoc
//
//	@Summary		Show a user
//	@ID			getUser
//	@Description	One account; never its password or hash. Platform-level: needs user.manage and an account bound to no tenant.
//	@Tags			users
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id		path		string	true	"user id"	format(uuid)
//	@Success		200		{object}	UserResponse
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden | auth.forbidden: this endpoint is platform-level: only accounts bound to no tenant may use it"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: user not found"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/users/{id} [get]
func (h *Users) Get(c *gin.Context) {
	u, err := h.Service.GetUser(c.Request.Context(), c.Param("id"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, userResponse(u))
}

// Update godoc
//
//	@Summary		Change a user
//	@ID			updateUser
//	@Description	Changes the role, the tenant ("" makes a platform principal, admin role only) or disables/enables the account; omitted fields stay. Any change ends every token issued to the account before it: at once on the replica that served the change, within 1 s on the others; the user logs in again (a disabled one cannot). The last enabled platform admin cannot be disabled, demoted or bound to a tenant (409): nobody could manage users over HTTP afterwards. Audited as user.update with the old and new value of each changed field; a body that changes nothing answers the account and writes nothing. Platform-level: needs user.manage and an account bound to no tenant.
//	@Tags			users
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id		path		string			true	"user id"	format(uuid)
//	@Param			body	body		UserPatchBody	true	"the fields to change"
//	@Success		200		{object}	UserResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden | auth.forbidden: this endpoint is platform-level: only accounts bound to no tenant may use it"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: user not found"
//	@Failure		409		{object}	middleware.ErrorBody	"state.conflict: user \"admin\" is the last enabled platform admin: make another account a platform admin first"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/users/{id} [patch]
func (h *Users) Update(c *gin.Context) {
	var body UserPatchBody
	if !bindJSON(c, &body) {
		return
	}
	ch := auth.UserChange{TenantID: body.TenantID, Disabled: body.Disabled}
	if body.Role != nil {
		r := auth.Role(*body.Role)
		ch.Role = &r
	}
	u, err := h.Service.UpdateUser(c.Request.Context(), actorOf(c), c.Param("id"), ch)
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, userResponse(u))
}

// ResetPassword godoc
//
//	@Summary		Reset a user's password
//	@ID			resetUserPassword
//	@Description	Sets a new password (8 to 72 bytes) without the old one, as `go run . users set-password` does. Every token issued to the account before the reset stops verifying (at once here, within 1 s on other replicas). Audited as user.password.reset (never the password). Platform-level: needs user.manage and an account bound to no tenant.
//	@Tags			users
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id		path		string				true	"user id"	format(uuid)
//	@Param			body	body		PasswordResetBody	true	"the new password"
//	@Success		200		{object}	UserResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden | auth.forbidden: this endpoint is platform-level: only accounts bound to no tenant may use it"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: user not found"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/users/{id}/password [post]
func (h *Users) ResetPassword(c *gin.Context) {
	var body PasswordResetBody
	if !bindJSON(c, &body) {
		return
	}
	u, err := h.Service.ResetPassword(c.Request.Context(), actorOf(c), c.Param("id"), body.Password)
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, userResponse(u))
}

func userResponse(u auth.User) UserResponse {
	out := UserResponse{
		ID: u.ID, Username: u.Username, Role: string(u.Role), Disabled: u.Disabled,
		PasswordChangedAt: u.PasswordChangedAt.UTC(), CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(),
	}
	if u.TenantID != "" {
		out.TenantID = &u.TenantID
	}
	return out
}
