package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/budget"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/ratelimit"
)

// Statuses of an llm_calls row.
const (
	statusPending   = "pending"
	statusSucceeded = "succeeded"
	statusFailed    = "failed"
)

// record is a call in flight: its llm_calls row, its reservation and its
// charge on its key's tokens-per-minute window.
type record struct {
	id          string
	reservation string
	tokens      ratelimit.TokenGrant
}

// settleTimeout bounds the bookkeeping after a call, which runs even when
// the client has gone away.
const settleTimeout = 30 * time.Second

// begin admits a call and starts its reservation. A retry of a stored call
// is answered from it (replay); otherwise the call's worst case is charged
// to its key's tokens-per-minute window and reserved on its budget, with
// the call stored as pending in the reservation's transaction. When this
// process saw the budget with room for the call (headroom), the reservation
// runs beside the provider call: begin returns at once, with a context that
// is cancelled if the reservation fails, and the caller waits for it before
// anything reaches the client. Otherwise the reservation is done, or has
// failed (err), when begin returns.
func (s *Service) begin(ctx context.Context, actor audit.Actor, in ChatInput, c *call) (context.Context, *reservation, *ChatResult, error) {
	if in.IdempotencyKey != "" {
		if res, found, err := s.replay(ctx, actor, in, c); found || err != nil {
			return nil, nil, res, err
		}
	}
	grant, err := s.takeTokens(ctx, in, c)
	if err != nil {
		return nil, nil, nil, err
	}
	r := &reservation{done: make(chan struct{}), cancel: func(error) {}}
	// A call with an idempotency key claims it in the reservation's
	// transaction, so a concurrent retry must not reach the provider first:
	// it reserves before its provider call.
	if !s.o.EarlyStart || in.IdempotencyKey != "" || !s.headroom.reserving(headroomKey{in.TenantID, in.ProjectID}, c.estimate(), s.o.Now()) {
		defer close(r.done)
		r.rec, r.replay, r.err = s.reserve(ctx, actor, in, c, grant)
		if r.rec == nil {
			return nil, nil, r.replay, r.err
		}
		return ctx, r, nil, nil
	}
	early, cancel := context.WithCancelCause(ctx)
	r.cancel = cancel
	go func() {
		defer close(r.done)
		r.rec, r.replay, r.err = s.reserve(ctx, actor, in, c, grant)
		outcome := "reserved"
		if r.rec == nil {
			outcome = "refused"
			cancel(errNotReserved)
		}
		s.metrics.earlyStarts.WithLabelValues(outcome).Inc()
	}()
	return early, r, nil, nil
}

// reservation is a call's reservation, made before its provider call or
// beside it (begin).
type reservation struct {
	done chan struct{}
	// rec is the call in flight; nil when the reservation failed (err) or
	// found the stored call of a concurrent retry with the same key
	// (replay).
	rec    *record
	replay *ChatResult
	err    error
	// cancel ends the context of the provider call begin returned.
	cancel context.CancelCauseFunc
}

// errNotReserved cancels a provider call whose reservation failed.
var errNotReserved = errors.New("gateway: the call's reservation failed")

// wait returns the reservation's outcome once it is known.
func (r *reservation) wait() (*record, *ChatResult, error) {
	<-r.done
	return r.rec, r.replay, r.err
}

// reserve reserves the call's worst case on its budget and stores the call
// as pending in the same transaction; a call that reserved nothing gives
// its key's tokens back. It tells the headroom what the budget had left.
func (s *Service) reserve(ctx context.Context, actor audit.Actor, in ChatInput, c *call, grant ratelimit.TokenGrant) (_ *record, _ *ChatResult, err error) {
	defer func() {
		if err != nil {
			s.settleTokens(ctx, grant, 0) // nothing was sent: give it all back
		}
	}()
	var left struct {
		available int64
		known     bool
	}
	if s.o.EarlyStart && in.IdempotencyKey == "" { // begin counted this reservation as running
		defer func() {
			s.headroom.reserved(headroomKey{in.TenantID, in.ProjectID}, c.estimate(), left.available, left.known, s.o.Now())
		}()
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, nil, fmt.Errorf("gateway: new call id: %w", err)
	}
	rec := &record{id: id.String(), tokens: grant}
	row := models.LLMCall{
		ID: rec.id, TenantID: in.TenantID, ProjectID: in.ProjectID, PrincipalID: actor.PrincipalID,
		RequestHash: c.hash, Model: c.model.Name, Provider: c.model.Provider, Stream: c.req.Stream,
		Status: statusPending, EstimatedTokens: c.estimate(), RequestID: actor.RequestID, CreatedAt: s.now(),
	}
	if in.IdempotencyKey != "" {
		row.IdempotencyKey = &in.IdempotencyKey
	}
	rctx, span := s.startStep(ctx, SpanReserve, attribute.Int64("gateway.estimated_tokens", c.estimate()))
	// The call's row is stored in the reservation's transaction: both
	// exist, or neither does.
	a, err := s.o.Budget.Request(rctx, actor, budget.RequestInput{
		TenantID: in.TenantID, ProjectID: in.ProjectID, TaskID: "llm:" + rec.id, Model: c.model.Name,
		Purpose: "LLM gateway chat completion", EstimatedTokens: c.estimate(),
		Row: func(reservationID string) any {
			row.ReservationID = &reservationID
			return &row
		},
	})
	endSpan(span, err)
	left.available, left.known = a.Available, err == nil
	if err != nil {
		left.available, left.known = availableOf(err)
	}
	switch {
	case err == nil:
		rec.reservation = a.ReservationID
		return rec, nil, nil
	case errs.Is(err, errs.CodeBudgetInsufficient):
		s.metrics.requests.WithLabelValues(c.model.Name, c.model.Provider, "budget_insufficient").Inc()
		return nil, nil, err
	case errors.Is(err, gorm.ErrDuplicatedKey) && in.IdempotencyKey != "":
		// A concurrent call with the same key stored its row first; this
		// one reserved nothing.
		s.settleTokens(ctx, grant, 0)
		grant = ratelimit.TokenGrant{}
		if res, found, rerr := s.replay(ctx, actor, in, c); found || rerr != nil {
			return nil, res, rerr
		}
		return nil, nil, errs.New(errs.CodeConflict, "a call with this idempotency key is still running; retry shortly")
	}
	return nil, nil, err
}

// availableOf reads what a budget.insufficient refusal says was available.
func availableOf(err error) (int64, bool) {
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.CodeBudgetInsufficient {
		return 0, false
	}
	n, ok := e.Details["available"].(int64)
	return n, ok
}

// replay answers from the call stored under the caller's key: its answer
// when it succeeded with the same body; a conflict when the body differs,
// when it still runs, or when it was a stream (streams are not stored). A
// call still pending after AbandonAfter was left by a crash between its
// reservation and its settlement: it is taken over (found is false, so the
// retry is a new call) instead of answering 409 forever.
func (s *Service) replay(ctx context.Context, actor audit.Actor, in ChatInput, c *call) (*ChatResult, bool, error) {
	var row models.LLMCall
	for try := 0; ; try++ {
		err := s.o.DB.WithContext(ctx).
			Where("tenant_id = ? AND project_id = ? AND principal_id = ? AND idempotency_key = ?",
				in.TenantID, in.ProjectID, actor.PrincipalID, in.IdempotencyKey).
			Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("gateway: read call by idempotency key: %w", err)
		}
		if try > 0 || row.Status != statusPending || row.RequestHash != c.hash || !s.abandoned(row) {
			break
		}
		took, err := s.takeOver(ctx, row)
		if err != nil || took {
			return nil, false, err
		}
		// Another retry took it over first (or it ended): read again.
		row = models.LLMCall{}
	}
	details := map[string]any{"idempotency_key": in.IdempotencyKey}
	switch {
	case row.RequestHash != c.hash:
		return nil, true, errs.New(errs.CodeIdempotencyClash, "this idempotency key was already used with a different request").WithDetails(details)
	case row.Status == statusPending:
		return nil, true, errs.New(errs.CodeConflict, "a call with this idempotency key is still running; retry shortly").WithDetails(details)
	case row.Response == nil:
		return nil, true, errs.New(errs.CodeConflict, "the streamed call with this idempotency key already succeeded; a stream is not replayed").WithDetails(details)
	}
	s.metrics.requests.WithLabelValues(row.Model, row.Provider, "replayed").Inc()
	return &ChatResult{Body: []byte(*row.Response), Replayed: true}, true, nil
}

// abandoned reports whether a pending call outlived its reservation: the
// process that made it is gone (a call's own work is bounded by
// LLM_REQUEST_TIMEOUT, far below the reservation's lifetime), and the
// reservation has expired or will be expired by the sweeper.
func (s *Service) abandoned(row models.LLMCall) bool {
	return row.CreatedAt.Before(s.o.Now().Add(-s.o.AbandonAfter))
}

// takeOver ends an abandoned call as failed and gives its idempotency key
// up, so the retry that took it over stores a new call under the key. The
// conditional update has one winner among concurrent retries: the others
// read the key again and find the winner's call (409 while it runs).
func (s *Service) takeOver(ctx context.Context, row models.LLMCall) (bool, error) {
	res := s.o.DB.WithContext(ctx).Model(&models.LLMCall{}).
		Where("id = ? AND status = ?", row.ID, statusPending).
		Updates(map[string]any{
			"status": statusFailed, "idempotency_key": nil, "finished_at": s.now(),
			"error": fmt.Sprintf("abandoned: still pending %s after it started (the reservation's lifetime); a retry with its idempotency key took it over", s.o.AbandonAfter),
		})
	if res.Error != nil {
		return false, fmt.Errorf("gateway: take over abandoned call %s: %w", row.ID, res.Error)
	}
	if res.RowsAffected == 1 {
		s.o.Log.WarnContext(ctx, "gateway: a retry took over a call left pending (crash between reservation and settlement)",
			slog.String("call_id", row.ID), slog.Time("created_at", row.CreatedAt))
		return true, nil
	}
	return false, nil
}

// outcome is how a call that used tokens ended: status is the metric's
// ("ok", or "cancelled"/"error" for a stream broken after its first chunk,
// whose err is then recorded on the call).
type outcome struct {
	status  string
	err     error
	ttft    time.Duration
	started time.Time
}

// settle commits the call's usage (at most the budget's cap of its
// reservation) and records usage and cost on the ledger's commit row and on
// the call, in the commit's transaction. The provider has answered and the client is served, so a
// bookkeeping failure is logged, not returned: failing the call would make
// the client retry and pay twice. A reservation whose commit failed expires.
func (s *Service) settle(ctx context.Context, actor audit.Actor, in ChatInput, c *call, rec *record, usage Usage, answer []byte, o outcome) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	cost := c.model.Cost(usage.PromptTokens, usage.CompletionTokens)
	committed := min(usage.Total(), int64(math.Floor(float64(c.estimate())*s.o.CommitMaxRatio)))
	ctx, span := s.startStep(ctx, SpanSettle, attribute.String(attrCallID, rec.id), attribute.Int64("gateway.committed_tokens", committed))
	var spanErr error
	defer func() { endSpan(span, spanErr) }()
	set := map[string]any{
		"status": statusSucceeded, "prompt_tokens": usage.PromptTokens, "completion_tokens": usage.CompletionTokens,
		"cost_usd": cost, "finished_at": s.now(),
	}
	if o.err != nil {
		set["status"], set["error"], set["idempotency_key"] = statusFailed, o.err.Error(), nil
	} else if in.IdempotencyKey != "" && answer != nil {
		set["response"] = string(answer)
	}
	finish := func(tx *gorm.DB) error {
		return tx.Model(&models.LLMCall{}).Where("id = ?", rec.id).Updates(set).Error
	}
	recorded := false
	if committed < 1 {
		s.release(ctx, actor, in, rec)
	} else if _, err := s.o.Budget.Commit(ctx, actor, budget.CommitInput{
		TenantID: in.TenantID, ProjectID: in.ProjectID, ReservationID: rec.reservation, ActualTokens: committed,
		Usage: &budget.Usage{Model: c.model.Name, PromptTokens: usage.PromptTokens, CompletionTokens: usage.CompletionTokens, CostUSD: cost},
		// The call's row is finished with the commit that pays for it.
		Also: func(tx *gorm.DB) error { recorded = true; return finish(tx) },
	}); err != nil {
		recorded = false
		spanErr = err
		s.o.Log.ErrorContext(ctx, "gateway: commit of a served call failed; the reservation will expire",
			slog.String("call_id", rec.id), slog.String("reservation_id", rec.reservation), slog.Any("error", err))
	}
	if !recorded {
		if err := finish(s.o.DB.WithContext(ctx)); err != nil {
			spanErr = errors.Join(spanErr, err)
			s.o.Log.ErrorContext(ctx, "gateway: recording the usage of a served call failed",
				slog.String("call_id", rec.id), slog.Any("error", err))
		}
	}
	s.settleTokens(ctx, rec.tokens, usage.Total())
	s.metrics.observe(c.model, o.status, usage, cost, s.o.Now().Sub(o.started), o.ttft)
}

// fail releases the reservation, records the failure (giving the key up,
// so a retry is a new call) and dead-letters the request.
func (s *Service) fail(ctx context.Context, actor audit.Actor, in ChatInput, c *call, rec *record, cause error, started time.Time) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	s.release(ctx, actor, in, rec)
	s.settleTokens(ctx, rec.tokens, 0)
	err := s.o.DB.WithContext(ctx).Model(&models.LLMCall{}).Where("id = ?", rec.id).Updates(map[string]any{
		"status": statusFailed, "idempotency_key": nil, "error": cause.Error(), "finished_at": s.now(),
	}).Error
	if err != nil {
		s.o.Log.ErrorContext(ctx, "gateway: recording a failed call failed", slog.String("call_id", rec.id), slog.Any("error", err))
	}
	status := "error"
	var ue *UpstreamError
	upstream := 0
	if errors.As(cause, &ue) {
		upstream = ue.Status
		if ue.Status == 429 {
			status = "rate_limited"
		}
	}
	if errs.Is(cause, errs.CodeUnavailable) {
		status = "unavailable"
	}
	s.metrics.observe(c.model, status, Usage{}, 0, s.o.Now().Sub(started), 0)
	if s.o.DeadLetters == nil || errors.Is(cause, context.Canceled) {
		return
	}
	if err := s.o.DeadLetters.DeadLetter(ctx, c.model.Provider, FailedCall{
		CallID: rec.id, TenantID: in.TenantID, ProjectID: in.ProjectID, Principal: actor.PrincipalID,
		Model: c.model.Name, Provider: c.model.Provider, RequestID: actor.RequestID, Status: upstream,
		Error: cause.Error(), Request: in.Body,
	}); err != nil {
		s.o.Log.WarnContext(ctx, "gateway: dead-lettering a failed call failed", slog.String("call_id", rec.id), slog.Any("error", err))
	}
}

func (s *Service) release(ctx context.Context, actor audit.Actor, in ChatInput, rec *record) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	ctx, span := s.startStep(ctx, SpanRelease, attribute.String(attrCallID, rec.id))
	_, err := s.o.Budget.Release(ctx, actor, budget.ReleaseInput{
		TenantID: in.TenantID, ProjectID: in.ProjectID, ReservationID: rec.reservation,
	})
	endSpan(span, err)
	if err != nil {
		s.o.Log.ErrorContext(ctx, "gateway: release failed; the reservation will expire",
			slog.String("reservation_id", rec.reservation), slog.Any("error", err))
	}
}

// now is the clock in UTC to the microsecond (what PostgreSQL keeps).
func (s *Service) now() time.Time { return cursor.DBTime(s.o.Now()) }
