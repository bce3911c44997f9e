package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"time"

	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/ratelimit"
)

// TokenLimiter enforces API keys' tokens-per-minute limits across replicas
// (ratelimit.Tokens implements it): Take charges a call's worst case to the
// key's window when it fits, Settle corrects the charge to what the call used.
type TokenLimiter interface {
	Take(ctx context.Context, key string, limit, n int64) (ratelimit.TokenGrant, error)
	Settle(ctx context.Context, g ratelimit.TokenGrant, used int64) error
}

var _ TokenLimiter = (*ratelimit.Tokens)(nil)

// takeTokens charges the call's worst case to its key's tokens-per-minute
// window, before anything is reserved or sent upstream. A caller without a
// key or a key without a limit passes. A worst case above the whole limit
// can never pass and is 422; one that does not fit in what the minute has
// left is 429 with the seconds until the window ends.
func (s *Service) takeTokens(ctx context.Context, in ChatInput, c *call) (ratelimit.TokenGrant, error) {
	if s.o.Tokens == nil || in.KeyID == "" || in.TokensPerMinute <= 0 {
		return ratelimit.TokenGrant{}, nil
	}
	n, limit := c.estimate(), in.TokensPerMinute
	if n > limit {
		s.metrics.requests.WithLabelValues(c.model.Name, c.model.Provider, "tokens_limited").Inc()
		return ratelimit.TokenGrant{}, errs.Validation(errs.FieldError{Field: c.maxTokensField(), Message: fmt.Sprintf(
			"this call may use up to %d tokens (about %d prompt tokens plus %d), more than the API key's tokens_per_minute (%d): lower it",
			n, c.promptEstimate, c.maxTokens, limit)})
	}
	g, err := s.o.Tokens.Take(ctx, ratelimit.APIKeyKey(in.KeyID), limit, n)
	if err != nil {
		return ratelimit.TokenGrant{}, err
	}
	if g.Admitted {
		return g, nil
	}
	s.metrics.requests.WithLabelValues(c.model.Name, c.model.Provider, "tokens_limited").Inc()
	retry := max(int64(math.Ceil(g.RetryAfter.Seconds())), 1)
	return ratelimit.TokenGrant{}, errs.Newf(errs.CodeRateLimited,
		"tokens-per-minute limit of the API key: this call may use up to %d tokens and %d of %d are left in this minute; retry in %d s",
		n, g.Remaining, limit, retry).WithDetails(map[string]any{
		"scope":            ratelimit.ScopeTokensPerMinute,
		"limit":            limit,
		"remaining":        g.Remaining,
		"estimated_tokens": n,
		"reset_at":         s.o.Now().Add(time.Duration(retry) * time.Second).UTC().Format(time.RFC3339),
		"retry_after":      strconv.FormatInt(retry, 10),
	})
}

// settleTokens corrects a call's charge to the tokens it used (0 when it
// failed or never reached the provider). A failure is logged: the window
// ends within the minute anyway.
func (s *Service) settleTokens(ctx context.Context, g ratelimit.TokenGrant, used int64) {
	if s.o.Tokens == nil || !g.Admitted {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	if err := s.o.Tokens.Settle(ctx, g, used); err != nil {
		s.o.Log.WarnContext(ctx, "gateway: correcting a key's tokens-per-minute window failed", slog.Any("error", err))
	}
}
