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
	api.GET("/admin/config", middleware.Authenticated(), middleware.Require(auth.PermSystemAdmin), middleware.PlatformOnly(), h.GetConfig)
}

// GetConfig godoc
//
//	@Summary		Effective configuration
//	@ID			getAdminConfig
//	@Description	The configuration this replica runs with, keyed by the environment variable that sets each value and written the way that variable accepts it (durations like 15s, rates like 100-M, lists comma-separated). Secrets are never shown: a secret that is set reads xxxxx, one that is not reads "", and passwords inside URLs are masked. Platform-level: needs system.admin and an account bound to no tenant.
//	@Tags			admin
//	@Produce		json
//	@Security		BearerAuth
//	@Success		200		{object}	map[string]any
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden | auth.forbidden: this endpoint is platform-level: only accounts bound to no tenant may use it"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/admin/config [get]
func (h *Admin) GetConfig(c *gin.Context) {
	c.JSON(http.StatusOK, h.Config())
}
