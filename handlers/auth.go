package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/ratelimit"
)

// AuthService is what the auth handlers need from services/auth.
type AuthService interface {
	Login(ctx context.Context, actor audit.Actor, username, password string) (auth.Session, error)
	Logout(ctx context.Context, actor audit.Actor, id auth.Identity) error
	ChangePassword(ctx context.Context, actor audit.Actor, id auth.Identity, current, next string) (auth.Session, error)
}

// KeySource publishes the token verification keys.
type KeySource interface {
	JWKS() auth.JWKSet
}

// Auth serves login, logout, "who am I" and the JWKS document.
type Auth struct {
	Service AuthService
	Keys    KeySource
}

// LoginRequest is the body of POST /auth/login.
type LoginRequest struct {
	Username string `json:"username" binding:"required,ident,max=128" example:"admin" maxLength:"128"`
	// Password is at most 72 bytes (bcrypt's limit); longer ones are refused with 422.
	Password string `json:"password" binding:"required,max=1024" example:"admin123" maxLength:"72"`
} // @name LoginRequest

// LoginResponse is a new bearer token with the caller's role and permissions.
type LoginResponse struct {
	Token       string    `json:"token" example:"eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9..."`
	TokenType   string    `json:"token_type" enums:"Bearer" example:"Bearer"`
	ExpiresAt   time.Time `json:"expires_at" example:"2026-01-02T16:04:05Z" format:"date-time"`
	Role        string    `json:"role" enums:"admin,operator,developer,observer" example:"admin"`
	Permissions []string  `json:"permissions" example:"system.admin,metrics.view"`
} // @name Session

// PasswordChangeRequest is the body of POST /auth/password.
type PasswordChangeRequest struct {
	// OldPassword is the current password.
	OldPassword string `json:"old_password" binding:"required,max=1024" maxLength:"72" example:"the current password"`
	// NewPassword is 8 to 72 bytes and differs from the current one.
	NewPassword string `json:"new_password" binding:"required,max=1024" minLength:"8" maxLength:"72" example:"a new password 42"`
} // @name PasswordChange

// MeResponse describes the caller.
type MeResponse struct {
	// PrincipalID is the caller's stable id across kinds of credential; the
	// audit trail and idempotency keys are scoped by it.
	PrincipalID string `json:"principal_id" example:"user:0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11"`
	// KeyID is the API key the caller authenticated with (its principal_id
	// is "key:" and this id); absent for a user's token.
	KeyID string `json:"key_id,omitempty" format:"uuid" example:"5d1c7a3e-9b2f-4e8a-8c6d-1f0e2b3a4c5d"`
	// UserID is the account: the user of a token, or the user who created
	// the API key (whose username this is, too).
	UserID   string `json:"user_id" format:"uuid" example:"0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11"`
	Username string `json:"username" example:"admin"`
	Role     string `json:"role" enums:"admin,operator,developer,observer" example:"admin"`
	// TenantID is the tenant the caller acts in; null for a platform
	// principal (an admin bound to no tenant).
	TenantID    *string  `json:"tenant_id" example:"default" extensions:"x-nullable"`
	Permissions []string `json:"permissions" example:"system.admin,metrics.view"`
	// ExpiresAt is when the credential stops working: the token's expiry,
	// or the API key's; null for a key that never expires.
	ExpiresAt *time.Time `json:"expires_at" example:"2026-01-02T16:04:05Z" format:"date-time" extensions:"x-nullable"`
} // @name CurrentUser

// Register implements Resource: logout and me, under the caller's role limit.
func (h *Auth) Register(api *gin.RouterGroup, _ RouteLimiter) {
	g := api.Group("/auth")
	g.POST("/logout", middleware.Authenticated(), h.Logout)
	g.GET("/me", middleware.Authenticated(), h.Me)
	g.POST("/password", middleware.Authenticated(), h.ChangePassword)
}

// RegisterPublic registers POST /auth/login outside the role limits (Deps.Public):
// RATE_LIMIT_LOGIN per client IP is its only limit, whoever calls.
func (h *Auth) RegisterPublic(api *gin.RouterGroup, limits RouteLimiter) {
	api.POST("/auth/login", limits.Scope(ratelimit.ScopeLogin), h.Login)
}

// RegisterRoot registers GET /.well-known/jwks.json.
func (h *Auth) RegisterRoot(r *gin.Engine) {
	r.GET("/.well-known/jwks.json", h.JWKS)
}

// Login godoc
//
//	@Summary		Log in
//	@ID			login
//	@Description	Exchanges a username and password for a bearer token (JWT, valid for JWT_TTL). An unknown user, a wrong password and a disabled account all answer the same 401. After LOGIN_MAX_ATTEMPTS failures for one username from one client IP within LOGIN_LOCKOUT_TTL_SECONDS, further attempts answer 429 with Retry-After until the window ends; a success resets the count. Rate limited by RATE_LIMIT_LOGIN per client IP, and by nothing else: the role limits (RATE_LIMIT_ANONYMOUS, ...) do not count logins.
//	@Tags			auth
//	@Accept			json
//	@Produce		json
//	@Param			body	body		LoginRequest	true	"credentials"
//	@Success		200		{object}	LoginResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.invalid_credentials"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded: rate limit exceeded: 5 requests allowed in this window (scope login); retry in 42 s | rate_limit.exceeded: too many failed logins; try again later"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/auth/login [post]
func (h *Auth) Login(c *gin.Context) {
	var req LoginRequest
	if !bindJSON(c, &req) {
		return
	}
	s, err := h.Service.Login(c.Request.Context(), actorOf(c), req.Username, req.Password)
	if err != nil {
		setRetryAfter(c, err)
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, LoginResponse{
		Token: s.Token, TokenType: "Bearer", ExpiresAt: s.ExpiresAt.UTC(), Role: string(s.User.Role),
		Permissions: permissionNames(auth.PermissionsOf(s.User.Role)),
	})
}

// Logout godoc
//
//	@Summary		Log out
//	@ID			logout
//	@Description	Revokes the presented token (its jti) until it expires; using it afterwards answers 401 — at once on the replica that served the logout, within 1 s on the others (each replica trusts a token it checked for 1 s). An API key does not log out (400): revoke it with DELETE /api/v1/keys/{id}.
//	@Tags			auth
//	@Produce		json
//	@Security		BearerAuth
//	@Success		200		{object}	StatusResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request: an API key does not log out: revoke it with DELETE /api/v1/keys/{id}"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/auth/logout [post]
func (h *Auth) Logout(c *gin.Context) {
	id, _ := middleware.IdentityFrom(c)
	if err := h.Service.Logout(c.Request.Context(), actorOf(c), id); err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, StatusResponse{Status: "logged_out"})
}

// ChangePassword godoc
//
//	@Summary		Change my password
//	@ID			changePassword
//	@Description	Replaces the caller's password (8 to 72 bytes, different from the current one) given the current one, and answers a new session like login. Every token issued to the account before the change stops verifying, the presented one included (at once on this replica, within 1 s on the others): continue with the returned token; other sessions must log in again. A wrong old_password is 422 naming that field (not 401: the token is fine, and clients drop their session on a 401); after LOGIN_MAX_ATTEMPTS wrong ones within LOGIN_LOCKOUT_TTL_SECONDS further attempts answer 429 until the window ends. Audited as auth.password.change, a wrong old password as auth.password.change.fail (never a password).
//	@Tags			auth
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			body	body		PasswordChangeRequest	true	"the current and the new password"
//	@Success		200		{object}	LoginResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded | rate_limit.exceeded: too many wrong passwords; try again later"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/auth/password [post]
func (h *Auth) ChangePassword(c *gin.Context) {
	var req PasswordChangeRequest
	if !bindJSON(c, &req) {
		return
	}
	id, _ := middleware.IdentityFrom(c)
	s, err := h.Service.ChangePassword(c.Request.Context(), actorOf(c), id, req.OldPassword, req.NewPassword)
	if err != nil {
		setRetryAfter(c, err)
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, LoginResponse{
		Token: s.Token, TokenType: "Bearer", ExpiresAt: s.ExpiresAt.UTC(), Role: string(s.User.Role),
		Permissions: permissionNames(auth.PermissionsOf(s.User.Role)),
	})
}

// Me godoc
//
//	@Summary		Who am I
//	@ID			getCurrentUser
//	@Description	The caller's username, current role and the permissions it grants, and its tenant (null for a platform principal), all read from the account, not from the token. Called with an API key, key_id is the key's id and user_id and username name the account that created it; key_id is absent for a user's token. expires_at is when the token or key stops working, null for a key that never expires.
//	@Tags			auth
//	@Produce		json
//	@Security		BearerAuth
//	@Success		200		{object}	MeResponse
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/auth/me [get]
func (h *Auth) Me(c *gin.Context) {
	id, _ := middleware.IdentityFrom(c)
	me := MeResponse{
		PrincipalID: id.PrincipalID, KeyID: id.KeyID, UserID: id.UserID, Username: id.Username, Role: string(id.Role),
		Permissions: permissionNames(id.Permissions()),
	}
	if !id.ExpiresAt.IsZero() {
		at := id.ExpiresAt.UTC()
		me.ExpiresAt = &at
	}
	if !id.Platform() {
		me.TenantID = &id.TenantID
	}
	c.JSON(http.StatusOK, me)
}

// JWKS godoc
//
//	@Summary		Token verification keys
//	@ID			getJWKS
//	@Description	RFC 7517 JWK Set of every RS256 key a live token may be signed with (the current key and keys retired less than JWT_TTL ago). Empty when tokens use HS256. Cacheable for 5 minutes.
//	@Tags			infrastructure
//	@Produce		json
//	@Success		200	{object}	auth.JWKSet
//	@Header			200	{string}	Cache-Control	"public, max-age=300"
//	@Router			/.well-known/jwks.json [get]
func (h *Auth) JWKS(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.JSON(http.StatusOK, h.Keys.JWKS())
}

func permissionNames(ps []auth.Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

// setRetryAfter copies a service's retry_after_seconds detail to the
// Retry-After header of a 429.
func setRetryAfter(c *gin.Context, err error) {
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.CodeRateLimited {
		return
	}
	if s, ok := e.Details["retry_after_seconds"].(int64); ok {
		c.Header("Retry-After", strconv.FormatInt(s, 10))
	}
}
