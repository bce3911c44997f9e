package handlers

import (
	"context"
	"encoding/base64"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/dlq"
)

// DLQService is what the DLQ handlers need from services/dlq.
type DLQService interface {
	List(ctx context.Context, f dlq.Filter) (cursor.Page[dlq.Message], error)
	Get(ctx context.Context, id string) (dlq.Message, error)
	Resolve(ctx context.Context, actor audit.Actor, id string, r dlq.Resolution) (dlq.Resolved, error)
}

var _ DLQService = (*dlq.Service)(nil)

// DLQ serves the dead-letter queue: list, show, resolve (and requeue).
type DLQ struct {
	Service DLQService
}

// DLQListItem is one message of a listing.
type DLQListItem struct {
	ID              string `json:"id" format:"uuid" example:"01963b4e-8a2c-7d41-9b1e-3f6a2c8d9e10"`
	OriginalSubject string `json:"original_subject" example:"orders.created"`
	// DataPreview is the first 200 characters of the payload as UTF-8 (invalid bytes become U+FFFD).
	DataPreview string    `json:"data_preview" example:"{\"id\":1}"`
	Error       string    `json:"error" example:"timeout"`
	Attempts    int       `json:"attempts" example:"3"`
	CreatedAt   time.Time `json:"created_at" example:"2026-01-02T15:04:05.123456Z" format:"date-time"`
	Resolved    bool      `json:"resolved" example:"false"`
} // @name DLQMessageSummary

// DLQListResponse is one page of messages, newest first.
type DLQListResponse struct {
	Items []DLQListItem `json:"items"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"next_cursor" example:"eyJ0IjoiMjAyNi0wMS0wMlQxNTowNDowNVoiLCJpZCI6Ii4uLiJ9" extensions:"x-nullable"`
} // @name DLQMessageList

// DLQMessageResponse is one message in full.
type DLQMessageResponse struct {
	ID              string `json:"id" format:"uuid" example:"01963b4e-8a2c-7d41-9b1e-3f6a2c8d9e10"`
	StreamSeq       int64  `json:"stream_seq" example:"42"`
	OriginalSubject string `json:"original_subject" example:"orders.created"`
	// Data is the payload: as text when it is valid UTF-8, else base64 (see data_encoding).
	Data         string              `json:"data" example:"{\"id\":1}"`
	DataEncoding string              `json:"data_encoding" enums:"utf-8,base64" example:"utf-8"`
	Headers      map[string][]string `json:"headers"`
	Error        string              `json:"error" example:"timeout"`
	Attempts     int                 `json:"attempts" example:"3"`
	CreatedAt    time.Time           `json:"created_at" example:"2026-01-02T15:04:05.123456Z" format:"date-time"`
	Resolved     bool                `json:"resolved" example:"true"`
	ResolvedAt   *time.Time          `json:"resolved_at" example:"2026-01-02T16:00:00Z" format:"date-time" extensions:"x-nullable"`
	ResolvedBy   *string             `json:"resolved_by" example:"admin" extensions:"x-nullable"`
	// ResolutionNotes is the note given when the message was resolved.
	ResolutionNotes *string    `json:"resolution_notes" example:"fixed the downstream timeout; replayed" extensions:"x-nullable"`
	RequeuedAt      *time.Time `json:"requeued_at" example:"2026-01-02T16:00:00Z" format:"date-time" extensions:"x-nullable"`
	RequeueCount    int        `json:"requeue_count" example:"1"`
} // @name DLQMessage

// DLQResolveRequest is the body of POST /dlq/{id}/resolve.
type DLQResolveRequest struct {
	Note string `json:"note" binding:"required,min=1,max=2000" minLength:"1" maxLength:"2000" example:"fixed the downstream timeout; replayed"`
	// Requeue republishes the payload and headers to the original subject before resolving.
	Requeue bool `json:"requeue,omitempty" example:"true"`
} // @name DLQResolveRequest

// DLQResolveResponse is the answer of a resolve.
type DLQResolveResponse struct {
	Status    string `json:"status" enums:"resolved" example:"resolved"`
	MessageID string `json:"message_id" format:"uuid" example:"01963b4e-8a2c-7d41-9b1e-3f6a2c8d9e10"`
	Requeued  bool   `json:"requeued" example:"true"`
} // @name DLQResolution

// dlqListQuery is the query of GET /dlq.
type dlqListQuery struct {
	Resolved string `form:"resolved" binding:"omitempty,oneof=true false"`
	Subject  string `form:"subject" binding:"omitempty,ident,max=255"`
	Since    string `form:"since" binding:"omitempty,max=64"`
	Until    string `form:"until" binding:"omitempty,max=64"`
	Limit    int    `form:"limit" binding:"omitempty,min=1"`
	Cursor   string `form:"cursor" binding:"omitempty,ident,max=512"`
}

// Register implements Resource.
func (h *DLQ) Register(api *gin.RouterGroup, _ RouteLimiter) {
	g := api.Group("/dlq", middleware.Authenticated())
	platform := middleware.PlatformOnly()
	g.GET("", middleware.Require(auth.PermDLQRead), platform, h.List)
	g.GET("/:id", middleware.Require(auth.PermDLQRead), platform, h.Get)
	g.POST("/:id/resolve", middleware.Require(auth.PermSystemAdmin), platform, h.Resolve)
}

// List godoc
//
//	@Summary		List dead-lettered messages
//	@ID			listDLQMessages
//	@Description	Newest first, keyset paged: pass next_cursor back as cursor for the next page; every message is returned once even while new ones arrive. Platform-level: needs dlq.read and an account bound to no tenant.
//	@Tags			dlq
//	@Produce		json
//	@Security		BearerAuth
//	@Param			resolved	query		bool	false	"resolved (true) or unresolved (false) messages"								default(false)
//	@Param			subject		query		string	false	"original subject, exact (orders.created) or a prefix ending in > (orders.>)"	maxlength(255)
//	@Param			since		query		string	false	"created at or after (RFC 3339)"												format(date-time)
//	@Param			until		query		string	false	"created before (RFC 3339)"														format(date-time)
//	@Param			limit		query		int		false	"page size; larger values are capped at 200"									minimum(1)	maximum(200)	default(50)
//	@Param			cursor		query		string	false	"next_cursor of the previous page"												maxlength(512)
//	@Success		200			{object}	DLQListResponse
//	@Failure		401			{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403			{object}	middleware.ErrorBody	"auth.forbidden | auth.forbidden: this endpoint is platform-level: only accounts bound to no tenant may use it"
//	@Failure		422			{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429			{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500			{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503			{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/dlq [get]
func (h *DLQ) List(c *gin.Context) {
	var q dlqListQuery
	if !bindQuery(c, &q) {
		return
	}
	since, until, err := timeRange(q.Since, q.Until)
	if err != nil {
		_ = c.Error(err)
		return
	}
	page, err := h.Service.List(c.Request.Context(), dlq.Filter{
		Resolved: q.Resolved == "true", Subject: q.Subject, Since: since, Until: until, Limit: q.Limit, Cursor: q.Cursor,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, dlqListResponse(page))
}

// Get godoc
//
//	@Summary		Show one dead-lettered message
//	@ID			getDLQMessage
//	@Description	The whole message: payload, headers, error, and how it was resolved. Platform-level: needs dlq.read and an account bound to no tenant.
//	@Tags			dlq
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id		path		string	true	"message id (UUID)"	format(uuid)
//	@Success		200		{object}	DLQMessageResponse
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden | auth.forbidden: this endpoint is platform-level: only accounts bound to no tenant may use it"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: DLQ message not found"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/dlq/{id} [get]
func (h *DLQ) Get(c *gin.Context) {
	m, err := h.Service.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, dlqMessageResponse(m))
}

// Resolve godoc
//
//	@Summary		Resolve a dead-lettered message, optionally requeueing it
//	@ID			resolveDLQMessage
//	@Description	Marks the message resolved with a note, written to the audit trail (dlq.resolve). With requeue=true the payload and headers are first republished to the original subject (through JetStream with a Nats-Msg-Id derived from the message id and requeue count when a stream captures the subject, so a repeated publish is deduplicated; core NATS otherwise); the message is marked only after that publish succeeded. A failed publish answers 503 and leaves the message unresolved. A subject under the DLQ prefix is never requeued (409). Of two concurrent resolves one succeeds and the other answers 409. Platform-level: needs system.admin and an account bound to no tenant.
//	@Tags			dlq
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id		path		string				true	"message id (UUID)"	format(uuid)
//	@Param			body	body		DLQResolveRequest	true	"note and whether to requeue"
//	@Success		200		{object}	DLQResolveResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403		{object}	middleware.ErrorBody	"auth.forbidden | auth.forbidden: this endpoint is platform-level: only accounts bound to no tenant may use it"
//	@Failure		404		{object}	middleware.ErrorBody	"resource.not_found: DLQ message not found"
//	@Failure		409		{object}	middleware.ErrorBody	"dlq.already_resolved | state.conflict: the original subject \"dlq.orders.created\" is under the DLQ prefix \"dlq\"; requeueing it would dead-letter it again"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/dlq/{id}/resolve [post]
func (h *DLQ) Resolve(c *gin.Context) {
	var req DLQResolveRequest
	if !bindJSON(c, &req) {
		return
	}
	res, err := h.Service.Resolve(c.Request.Context(), actorOf(c), c.Param("id"),
		dlq.Resolution{Note: req.Note, Requeue: req.Requeue})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, DLQResolveResponse{Status: "resolved", MessageID: res.MessageID, Requeued: res.Requeued})
}

// dlqListResponse converts a page of the service to the response DTO.
func dlqListResponse(p cursor.Page[dlq.Message]) DLQListResponse {
	out := DLQListResponse{Items: make([]DLQListItem, 0, len(p.Items)), NextCursor: nextCursor(p.NextCursor)}
	for _, m := range p.Items {
		out.Items = append(out.Items, DLQListItem{
			ID:              m.ID,
			OriginalSubject: m.OriginalSubject,
			DataPreview:     dlq.Preview(m.Data, dlq.PreviewChars),
			Error:           m.Error,
			Attempts:        m.Attempts,
			CreatedAt:       m.CreatedAt,
			Resolved:        m.Resolved,
		})
	}
	return out
}

// dlqMessageResponse converts one message of the service to the response DTO.
func dlqMessageResponse(m dlq.Message) DLQMessageResponse {
	out := DLQMessageResponse{
		ID:              m.ID,
		StreamSeq:       m.StreamSeq,
		OriginalSubject: m.OriginalSubject,
		Data:            string(m.Data),
		DataEncoding:    "utf-8",
		Headers:         m.Headers,
		Error:           m.Error,
		Attempts:        m.Attempts,
		CreatedAt:       m.CreatedAt,
		Resolved:        m.Resolved,
		ResolvedAt:      m.ResolvedAt,
		RequeuedAt:      m.RequeuedAt,
		RequeueCount:    m.RequeueCount,
	}
	if !utf8.Valid(m.Data) {
		out.Data, out.DataEncoding = base64.StdEncoding.EncodeToString(m.Data), "base64"
	}
	if m.Resolved {
		out.ResolvedBy, out.ResolutionNotes = &m.ResolvedBy, &m.ResolutionNotes
	}
	if out.Headers == nil {
		out.Headers = map[string][]string{}
	}
	return out
}
