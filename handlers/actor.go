package handlers

import (
	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/audit"
)

// actorOf describes the caller for services and the audit trail.
func actorOf(c *gin.Context) audit.Actor {
	a := audit.Actor{RequestID: middleware.RequestIDFrom(c), ClientIP: c.ClientIP()}
	if id, ok := middleware.IdentityFrom(c); ok {
		a.PrincipalID, a.UserID, a.Username, a.Role, a.TenantID = id.PrincipalID, id.UserID, id.Username, string(id.Role), id.TenantID
	}
	return a
}
