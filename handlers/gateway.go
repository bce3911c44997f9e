package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/gateway"
)

// GatewayService is what the LLM gateway routes need (services/gateway
// implements it).
type GatewayService interface {
	Models() ([]gateway.Model, error)
	Chat(ctx context.Context, actor audit.Actor, in gateway.ChatInput) (gateway.ChatResult, error)
	ChatStream(ctx context.Context, actor audit.Actor, in gateway.ChatInput, w gateway.ChunkWriter) error
	Usage(ctx context.Context, f gateway.UsageFilter) (gateway.UsageReport, error)
}

var _ GatewayService = (*gateway.Service)(nil)

// Gateway serves the OpenAI-compatible LLM gateway under /api/v1, so an
// OpenAI SDK whose base URL is …/api/v1 works unchanged.
type Gateway struct {
	Service GatewayService
	Tenants TenantResolver
	// DefaultTenant is the tenant of a platform principal that names none.
	DefaultTenant string
}

// Headers of a gateway call.
const (
	headerTenantID  = "X-Tenant-ID"
	headerProjectID = "X-Project-ID"
	// defaultProject is the project of a call that names none.
	defaultProject = "default"
)

// Register implements Resource.
func (h *Gateway) Register(api *gin.RouterGroup, _ RouteLimiter) {
	spend := middleware.Require(auth.PermBudgetSpend)
	g := api.Group("", middleware.Authenticated())
	g.GET("/models", spend, h.Models)
	g.POST("/chat/completions", spend, h.Chat)
	g.GET("/usage", middleware.Require(auth.PermBudgetView), h.Usage)
}

// Models godoc
//
//	@Summary		List the models the LLM gateway serves
//	@ID			listModels
//	@Description	The configured models (LLM_MODELS_FILE or LLM_MODELS) whose provider is configured, in the OpenAI list format, with their prices and limits. With none it is 503 with a message naming what to set. Needs budget.spend.
//	@Tags			llm
//	@Produce		json
//	@Security		BearerAuth
//	@Success		200	{object}	ModelList
//	@Failure		401	{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403	{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		429	{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500	{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503	{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/models [get]
func (h *Gateway) Models(c *gin.Context) {
	ms, err := h.Service.Models()
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := ModelList{Object: "list", Data: make([]ModelInfo, len(ms))}
	for i, m := range ms {
		out.Data[i] = modelInfo(m)
	}
	c.JSON(http.StatusOK, out)
}

// Chat godoc
//
//	@Summary		Chat completion through the LLM gateway (OpenAI format)
//	@ID			createChatCompletion
//	@Description	The OpenAI Chat Completions API: any OpenAI SDK whose base URL is …/api/v1 calls it unchanged. The gateway estimates the call's worst case (the prompt, about one token per 3 bytes, plus max_tokens or max_completion_tokens, else the model's default_max_tokens, which is then sent upstream as the cap), reserves it on the caller's budget, calls the model's provider through its circuit breaker (when this replica saw the budget with room for the call and it has no Idempotency-Key, the provider call starts beside the reservation; nothing is sent to the client before the reservation is stored, and a refused one cancels it; LLM_EARLY_START=false turns this off), commits the usage the provider reports (its cost from the model's prices goes on the ledger row and into GET /usage) and releases the reservation when the call fails. The answer's model is the name the client sent.
//	@Description	Budget: tenant is the caller's; a platform principal names one with X-Tenant-ID, else DEFAULT_TENANT. Project: the API key's bound project, else X-Project-ID, else "default". 409 budget.insufficient when the worst case does not fit.
//	@Description	Streaming: with "stream": true the answer is text/event-stream, one `data: {chat.completion.chunk}` event per chunk and `data: [DONE]` at the end, as OpenAI sends it; with stream_options.include_usage the last chunk before [DONE] carries the usage. A failure after the first chunk ends the stream with a `data: {"error": {...}}` event. A client that disconnects cancels the upstream call; the tokens used so far are committed. A stream is committed right after its last byte, so GET /budget/state and /usage show it a few milliseconds after [DONE] (its worst case stays reserved until then); a non-streaming answer is committed before it is sent.
//	@Description	Provider failures: a provider 429 is passed through as 429 with its Retry-After; a 5xx or a timeout counts against the provider's breaker and is retried once if nothing reached the client yet, then answered 503; while the breaker is open the answer is 503 at once. A request the provider refuses (400) is 422. Failed calls are dead-lettered under DLQ_SUBJECT_PREFIX.llm.<provider> (the request without credentials).
//	@Description	Tokens per minute: an API key created with tokens_per_minute may use at most that many tokens a minute, on every replica together (counted in Redis, RATE_LIMIT_STORAGE_URI, or in memory in embedded mode). Fixed windows: a key's minute starts with the first call that finds none. Before anything is reserved or sent upstream, the call's worst case (the number reserved on the budget) is added to the window if it fits in what is left; if not, the answer is 429 rate_limit.exceeded (details.scope "tokens_per_minute", limit, remaining, estimated_tokens, reset_at) with Retry-After, the seconds until the window ends, and nothing is reserved, sent or dead-lettered. A worst case above the whole limit can never fit and is 422 on max_tokens. When the call ends its charge is corrected to the tokens the provider reported (worst case − actual given back, nothing for a failed call), so a key pays for what it used. JWT callers and keys without tokens_per_minute are not limited here (the request rate limits still apply).
//	@Description	Idempotency: with an Idempotency-Key header, a retry of a call that succeeded returns its answer (Idempotency-Replayed: true) without calling the provider or billing again; the same key with another body is 409 idempotency.conflict; while the first call runs, or when it was a stream (streams are not stored), 409 state.conflict. A failed call gives its key up. A call still pending after BUDGET_RESERVATION_TTL (its reservation's lifetime) was left by a crash: the next retry with its key takes it over (one winner among concurrent retries; the old call is recorded as failed) instead of answering 409. Needs budget.spend.
//	@Tags			llm
//	@Accept			json
//	@Produce		json,event-stream
//	@Security		BearerAuth
//	@Param			Idempotency-Key	header		string					false	"makes retries safe; at most 128 printable ASCII characters"	maxlength(128)
//	@Param			X-Tenant-ID		header		string					false	"the tenant of a platform principal (default DEFAULT_TENANT); a tenant-bound caller may name only its own"	maxlength(64)
//	@Param			X-Project-ID	header		string					false	"the project whose budget pays when the API key is bound to none (default \"default\")"	maxlength(128)
//	@Param			body			body		ChatCompletionRequest	true	"an OpenAI chat completions request"
//	@Success		200				{object}	ChatCompletion
//	@Failure		400				{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401				{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403				{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404				{object}	middleware.ErrorBody	"resource.not_found: model \"gpt-5\" is not configured; GET /api/v1/models lists the models"
//	@Failure		409				{object}	middleware.ErrorBody	"budget.insufficient | idempotency.conflict | state.conflict: the streamed call with this idempotency key already succeeded; a stream is not replayed"
//	@Failure		413				{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422				{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429				{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500				{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503				{object}	middleware.ErrorBody	"service.unavailable"
//	@Header			200				{string}	Idempotency-Replayed	"true when this is the stored answer of an earlier call with the same key"
//	@Router			/api/v1/chat/completions [post]
func (h *Gateway) Chat(c *gin.Context) {
	var raw json.RawMessage
	if err := decodeJSON(c.Request.Body, &raw); err != nil {
		_ = c.Error(err)
		return
	}
	id, _ := middleware.IdentityFrom(c)
	named, ok := headerIdent(c, headerTenantID)
	if !ok {
		return
	}
	key, ok := headerIdent(c, headerIdempotencyKey)
	if !ok {
		return
	}
	project, ok := projectOf(c, id.ProjectID)
	if !ok {
		return
	}
	if named == "" && id.TenantID == "" {
		named = h.DefaultTenant
	}
	tenant, ok := tenantOf(c, h.Tenants, named)
	if !ok {
		return
	}
	in := gateway.ChatInput{
		TenantID: tenant, ProjectID: project, IdempotencyKey: key,
		KeyID: id.KeyID, TokensPerMinute: id.KeyTokensPerMinute,
		Body: raw,
	}
	if gateway.IsStream(raw) {
		h.stream(c, in)
		return
	}
	res, err := h.Service.Chat(c.Request.Context(), actorOf(c), in)
	if err != nil {
		if ra := gateway.RetryAfter(err); ra != "" {
			c.Header("Retry-After", ra)
		}
		_ = c.Error(err)
		return
	}
	if res.Replayed {
		c.Header(headerReplayed, "true")
	}
	c.Data(http.StatusOK, "application/json", res.Body)
}

// stream serves a streaming call as server-sent events.
func (h *Gateway) stream(c *gin.Context, in gateway.ChatInput) {
	w := &sseWriter{c: c}
	err := h.Service.ChatStream(c.Request.Context(), actorOf(c), in, w)
	var broken *gateway.StreamBroken
	switch {
	case err == nil:
	case errors.As(err, &broken):
		if !broken.ClientGone {
			w.event(map[string]any{"error": map[string]any{
				"message": "the provider failed during the stream", "type": "upstream_error", "code": string(errs.CodeUnavailable),
			}})
		}
	default:
		if ra := gateway.RetryAfter(err); ra != "" {
			c.Header("Retry-After", ra)
		}
		_ = c.Error(err)
	}
}

// sseWriter writes chunks as server-sent events, flushing each.
type sseWriter struct {
	c       *gin.Context
	started bool
}

func (w *sseWriter) start() {
	if w.started {
		return
	}
	w.started = true
	h := w.c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	// A stream may outlast the server's WriteTimeout; the provider call has
	// its own timeout (LLM_REQUEST_TIMEOUT).
	_ = http.NewResponseController(w.c.Writer).SetWriteDeadline(time.Time{})
	w.c.Status(http.StatusOK)
}

// Chunk implements gateway.ChunkWriter.
func (w *sseWriter) Chunk(data []byte) error {
	w.start()
	if _, err := fmt.Fprintf(w.c.Writer, "data: %s\n\n", data); err != nil {
		return err
	}
	w.c.Writer.Flush()
	return w.c.Request.Context().Err()
}

// Done implements gateway.ChunkWriter.
func (w *sseWriter) Done() error { return w.Chunk([]byte("[DONE]")) }

func (w *sseWriter) event(v any) {
	b, _ := json.Marshal(v)
	_ = w.Chunk(b)
}

// projectOf is the project whose budget pays: the API key's bound project,
// else X-Project-ID, else "default". A key bound to a project pays from it
// whatever the header says, so a key cannot spend another project's budget.
// On false the 422 of a header that is no identifier is attached.
func projectOf(c *gin.Context, bound string) (string, bool) {
	if bound != "" {
		return bound, true
	}
	p, ok := headerIdent(c, headerProjectID)
	if !ok || p != "" {
		return p, ok
	}
	return defaultProject, true
}

// usageQuery is the query of GET /usage.
type usageQuery struct {
	TenantID  string `form:"tenant_id" binding:"omitempty,max=128,printascii"`
	ProjectID string `form:"project_id" binding:"omitempty,max=128,printascii"`
	Since     string `form:"since" binding:"omitempty,max=64"`
	Until     string `form:"until" binding:"omitempty,max=64"`
}

// Usage godoc
//
//	@Summary		Tokens and cost of the LLM gateway's calls
//	@ID			getUsage
//	@Description	Sums the ledger's commit rows of gateway calls (each carries its model, prompt and completion tokens and its cost from the model's prices): in total, by model and by project, for a time range (since inclusive, until exclusive; open when omitted). Streams cut short count with the tokens they were billed for. A caller bound to a tenant sees its tenant only (naming another is 404); a platform principal sees every tenant's unless it names one. Needs budget.view.
//	@Tags			llm
//	@Produce		json
//	@Security		BearerAuth
//	@Param			tenant_id	query		string	false	"only this tenant"		maxlength(128)
//	@Param			project_id	query		string	false	"only this project"		maxlength(128)
//	@Param			since		query		string	false	"RFC 3339, inclusive"	format(date-time)
//	@Param			until		query		string	false	"RFC 3339, exclusive"	format(date-time)
//	@Success		200			{object}	UsageReport
//	@Failure		401			{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		403			{object}	middleware.ErrorBody	"auth.forbidden"
//	@Failure		404			{object}	middleware.ErrorBody	"resource.not_found: tenant \"acme\" not found"
//	@Failure		422			{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429			{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500			{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503			{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/usage [get]
func (h *Gateway) Usage(c *gin.Context) {
	var q usageQuery
	if !bindQuery(c, &q) {
		return
	}
	since, until, err := timeRange(q.Since, q.Until)
	if err != nil {
		_ = c.Error(err)
		return
	}
	tenant, ok := tenantFilterOf(c, h.Tenants, q.TenantID)
	if !ok {
		return
	}
	r, err := h.Service.Usage(c.Request.Context(), gateway.UsageFilter{TenantID: tenant, ProjectID: q.ProjectID, Since: since, Until: until})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, usageReport(r))
}
