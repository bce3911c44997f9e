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
)

// AuditLister is what GET /audit needs from services/audit.
type AuditLister interface {
	List(ctx context.Context, f audit.Filter) (cursor.Page[audit.Record], error)
}

// Audit serves the audit trail.
type Audit struct {
	Service AuditLister
}

// AuditQuery are the filters of GET /audit.
type AuditQuery struct {
	UserID       string `form:"user_id" binding:"omitempty,ident,max=200"`
	Action       string `form:"action" binding:"omitempty,ident,max=200"`
	ResourceType string `form:"resource_type" binding:"omitempty,ident,max=200"`
	ResourceID   string `form:"resource_id" binding:"omitempty,ident,max=200"`
	Since        string `form:"since" binding:"max=64"`
	Until        string `form:"until" binding:"max=64"`
	Cursor       string `form:"cursor" binding:"omitempty,ident,max=500"`
	Limit        int    `form:"limit" binding:"omitempty,min=1"`
}

// AuditEntryResponse is one audit entry.
type AuditEntryResponse struct {
	ID     int64  `json:"id" example:"42"`
	UserID string `json:"user_id,omitempty" format:"uuid" example:"0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11"`
	// PrincipalID is who acted, whatever the credential ("user:<id>").
	PrincipalID string `json:"principal_id,omitempty" example:"user:0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11"`
	// TenantID is the tenant the actor acted in; absent for a platform principal.
	TenantID     string         `json:"tenant_id,omitempty" example:"default"`
	Role         string         `json:"role,omitempty" example:"admin"`
	Action       string         `json:"action" example:"auth.login.success"`
	ResourceType string         `json:"resource_type,omitempty" example:"user"`
	ResourceID   string         `json:"resource_id,omitempty" example:"0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11"`
	Details      map[string]any `json:"details"`
	RequestID    string         `json:"request_id,omitempty" example:"4f1c2d3e5a6b7c8d9e0f1a2b3c4d5e6f"`
	ClientIP     string         `json:"client_ip,omitempty" example:"203.0.113.7"`
	CreatedAt    time.Time      `json:"created_at" example:"2026-01-02T15:04:05.123456Z" format:"date-time"`
} // @name AuditEntry

// AuditPageResponse is one page of the audit trail, newest first.
type AuditPageResponse struct {
	Items []AuditEntryResponse `json:"items"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"next_cursor" example:"eyJ0IjoiMjAyNi0wMS0wMlQxNTowNDowNVoiLCJpZCI6IjQyIn0" extensions:"x-nullable"`
} // @name AuditPage

// Register implements Resource.
func (h *Audit) Register(api *gin.RouterGroup, _ RouteLimiter) {
	api.GET("/audit", middleware.Authenticated(), middleware.Require(auth.PermSystemAdmin), middleware.PlatformOnly(), h.List)
}

// List godoc
//
//	@Summary		List audit entries
//	@ID			listAuditEntries
//	@Description	Who did what, newest first. Filters combine with AND; since is inclusive, until exclusive. Page with next_cursor until it is null. Platform-level: needs system.admin and an account bound to no tenant.
//	@Tags			audit
//	@Produce		json
//	@Security		BearerAuth
//	@Param			user_id			query		string	false	"actor's user id"					maxlength(200)
//	@Param			action			query		string	false	"e.g. auth.login.fail"				maxlength(200)
//	@Param			resource_type	query		string	false	"e.g. user, token"					maxlength(200)
//	@Param			resource_id		query		string	false	"resource id"						maxlength(200)
//	@Param			since			query		string	false	"RFC 3339, inclusive"				format(date-time)
//	@Param			until			query		string	false	"RFC 3339, exclusive"				format(date-time)
//	@Param			cursor			query		string	false	"next_cursor of the previous page"	maxlength(500)
//	@Param			limit			query		int		false	"page size; larger values are capped at 200"	minimum(1)	maximum(200)	default(50)
//	@Success		200				{object}	AuditPageResponse
//	@Failure		401				{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403				{object}	middleware.ErrorBody	"auth.forbidden | auth.forbidden: this endpoint is platform-level: only accounts bound to no tenant may use it"
//	@Failure		422				{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429				{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500				{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503				{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/audit [get]
func (h *Audit) List(c *gin.Context) {
	var q AuditQuery
	if !bindQuery(c, &q) {
		return
	}
	since, until, err := timeRange(q.Since, q.Until)
	if err != nil {
		_ = c.Error(err)
		return
	}
	page, err := h.Service.List(c.Request.Context(), audit.Filter{
		UserID: q.UserID, Action: q.Action, ResourceType: q.ResourceType, ResourceID: q.ResourceID,
		Since: since, Until: until, Cursor: q.Cursor, Limit: q.Limit,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, auditPage(page))
}

// auditPage converts a page of the service to the response DTO.
func auditPage(p cursor.Page[audit.Record]) AuditPageResponse {
	out := AuditPageResponse{Items: make([]AuditEntryResponse, len(p.Items)), NextCursor: nextCursor(p.NextCursor)}
	for i, e := range p.Items {
		out.Items[i] = AuditEntryResponse{
			ID: e.ID, UserID: e.UserID, PrincipalID: e.PrincipalID, TenantID: e.TenantID, Role: e.Role, Action: e.Action, ResourceType: e.ResourceType,
			ResourceID: e.ResourceID, Details: e.Details, RequestID: e.RequestID, ClientIP: e.ClientIP,
			CreatedAt: e.CreatedAt,
		}
	}
	return out
}
