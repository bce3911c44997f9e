package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/auth"
)

// Admin serves operator views of the running instance.
type Admin struct {
	// Config returns the effective configuration with secrets redacted.
	Config func() map[string]any
}

// Register implements Resource.
func (h *Admin) Register(api *gin.RouterGroup, _ RouteLimiter) {
	api.GET("/admin/config", middleware.Authenticated(), middleware.Require(auth.PermSystemAdmin), h.GetConfig)
}

// GetConfig godoc
//
//	@Summary		Effective configuration
//	@Description	The configuration this replica runs with. Secrets are never shown: each is replaced by whether it is set (e.g. jwt_secret_set) and passwords inside URLs are masked.
//	@Tags			admin
//	@Produce		json
//	@Security		BearerAuth
//	@Success		200		{object}	map[string]any
//	@Failure		401		{object}	middleware.ErrorBody
//	@Failure		403		{object}	middleware.ErrorBody
//	@Failure		429		{object}	middleware.ErrorBody
//	@Failure		500		{object}	middleware.ErrorBody
//	@Failure		503		{object}	middleware.ErrorBody
//	@Header			200,429	{integer}	X-RateLimit-Limit		"requests allowed in the current window"
//	@Header			200,429	{integer}	X-RateLimit-Remaining	"requests left in the current window"
//	@Header			200,429	{integer}	X-RateLimit-Reset		"Unix time (seconds) when the window resets"
//	@Header			429		{integer}	Retry-After				"seconds to wait before retrying"
//	@Router			/api/v1/admin/config [get]
func (h *Admin) GetConfig(c *gin.Context) {
	c.JSON(http.StatusOK, h.Config())
}
