package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/services/llmcheck"
)

// AnswerChecker validates raw LLM answers (services/llmcheck).
type AnswerChecker interface {
	Check(kind llmcheck.Kind, raw string) (llmcheck.Result, error)
}

// Validate serves the LLM answer validation endpoints.
type Validate struct {
	Checker AnswerChecker
}

// ValidateRequest carries a raw LLM answer.
type ValidateRequest struct {
	// LLMResponse is the model's raw text, at most 256 KiB; the JSON is taken
	// from a ```json fence or else the first complete JSON value in it.
	LLMResponse string `json:"llm_response" binding:"required" edge:"raw" example:"Here is my plan: {\"synthesis_reasoning\": \"Two agents disagree on retries\", \"action_plan\": [{\"priority\": 1, \"type\": \"fix\", \"issue\": \"Retry storm\", \"agent\": \"worker\"}]}"`
} // @name ValidationRequest

// ValidateResponse is a valid answer: the normalised data and any warnings.
type ValidateResponse struct {
	Valid bool `json:"valid" example:"true"`
	// Data is the extracted JSON (an object, or an array for patterns) with
	// strings trimmed and enum values lowercased.
	Data     any                `json:"data"`
	Warnings []llmcheck.Warning `json:"warnings"`
	// WarningsTruncated is true when more than 100 warnings were found.
	WarningsTruncated bool `json:"warnings_truncated,omitempty"`
} // @name ValidationResult

// Register implements Resource.
func (h *Validate) Register(api *gin.RouterGroup, _ RouteLimiter) {
	g := api.Group("/validate", middleware.Authenticated())
	g.POST("/synthesis", h.Synthesis)
	g.POST("/consensus", h.Consensus)
	g.POST("/patterns", h.Patterns)
}

// Synthesis godoc
//
//	@Summary		Validate a synthesis answer
//	@ID			validateSynthesis
//	@Description	Extracts the JSON of a raw LLM answer and validates it against the synthesis schema: synthesis_reasoning (10–2000 chars) and action_plan (1–50 items of priority 1–100, type fix|improve|refactor|test, issue 5–1000 chars, agent 2–100 chars). Suspicious content (SQL after a semicolon, script tags, shell sequences, path traversal, NUL bytes) is reported in warnings at its JSON path; the data itself is never rewritten beyond trimming strings and lowercasing enum values. No JSON, or a schema violation, answers 422 with details.errors = [{path, message}].
//	@Tags			validate
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			body	body		ValidateRequest	true	"raw LLM answer (≤ 256 KiB)"
//	@Success		200		{object}	ValidateResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/validate/synthesis [post]
func (h *Validate) Synthesis(c *gin.Context) { h.check(c, llmcheck.KindSynthesis) }

// Consensus godoc
//
//	@Summary		Validate a consensus answer
//	@ID			validateConsensus
//	@Description	Like the synthesis validation, against the consensus schema: decision approve|reject|conditional, confidence 0–1, reasoning ≤ 2000 chars, optional concerns (≤ 10 strings of ≤ 500 chars).
//	@Tags			validate
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			body	body		ValidateRequest	true	"raw LLM answer (≤ 256 KiB)"
//	@Success		200		{object}	ValidateResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/validate/consensus [post]
func (h *Validate) Consensus(c *gin.Context) { h.check(c, llmcheck.KindConsensus) }

// Patterns godoc
//
//	@Summary		Validate a patterns answer
//	@ID			validatePatterns
//	@Description	Like the synthesis validation, against the patterns schema: an array (≤ 20) of objects with pattern_type skill_gap|agent_conflict|process_issue, root_cause ≤ 500 chars, suggested_fix ≤ 1000 chars, confidence 0–1 and optional agents_involved (≤ 10 strings).
//	@Tags			validate
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			body	body		ValidateRequest	true	"raw LLM answer (≤ 256 KiB)"
//	@Success		200		{object}	ValidateResponse
//	@Failure		400		{object}	middleware.ErrorBody	"validation.invalid_request"
//	@Failure		401		{object}	middleware.ErrorBody	"auth.unauthorized"
//	@Failure		413		{object}	middleware.ErrorBody	"request.too_large"
//	@Failure		422		{object}	middleware.ErrorBody	"validation.unprocessable_entity"
//	@Failure		429		{object}	middleware.ErrorBody	"rate_limit.exceeded"
//	@Failure		500		{object}	middleware.ErrorBody	"internal.error"
//	@Failure		503		{object}	middleware.ErrorBody	"service.unavailable"
//	@Router			/api/v1/validate/patterns [post]
func (h *Validate) Patterns(c *gin.Context) { h.check(c, llmcheck.KindPatterns) }

func (h *Validate) check(c *gin.Context, kind llmcheck.Kind) {
	var req ValidateRequest
	if !bindJSON(c, &req) {
		return
	}
	res, err := h.Checker.Check(kind, req.LLMResponse)
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, ValidateResponse{
		Valid: res.Valid, Data: res.Data, Warnings: res.Warnings, WarningsTruncated: res.WarningsTruncated,
	})
}
