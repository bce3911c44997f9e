package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/golden-architecture/control-plane/services/errs"
)

// ScopeTokensPerMinute is the scope of an API key's tokens-per-minute limit
// on the LLM gateway: the name in store keys, in the 429's details and in
// rate_limit_exceeded_total{scope}.
const ScopeTokensPerMinute = "tokens_per_minute" // #nosec G101 -- a metric label, not a credential

// TokenWindow is the length of a tokens-per-minute window.
const TokenWindow = time.Minute

// Tokens limits the LLM tokens an API key may use per minute, in fixed
// windows shared by every replica (the same store as the request limiter:
// Redis, or process memory in embedded mode).
//
// The algorithm is a fixed-window counter: a key's window starts with the
// first call that finds none and lasts TokenWindow. A call is admitted when
// its worst case fits in what the window has left, and that worst case is
// added to the window at once, atomically (a Lua script in Redis, a mutex in
// memory), so concurrent calls on any number of replicas never hold more
// than the limit. When the call ends, Settle corrects the window it was
// charged in by (actual − worst case): unused tokens are given back, so a key
// is charged for what it used. A correction that arrives after its window
// ended is dropped: that window is over, and the next one starts empty.
type Tokens struct {
	store    TokenStore
	guard    Guard
	failMode FailMode
	timeout  time.Duration
	log      *slog.Logger
	metrics  *Metrics
	degraded atomic.Bool
}

// TokenCount is a window's state after a TokenStore.Take.
type TokenCount struct {
	// Admitted is true when n fitted and was added.
	Admitted bool
	// Used is the window's tokens after the call (before it when refused).
	Used int64
	// Window identifies the window n was added to (Adjust's argument).
	Window string
	// ResetIn is how long the window still runs.
	ResetIn time.Duration
}

// TokenStore keeps the windows. Take adds n to key's current window when
// used + n ≤ limit, starting a window of length window (identified by
// newWindow) when there is none; Adjust adds delta (negative gives tokens
// back, never below 0) to key's window only while it is still the window
// Take returned.
type TokenStore interface {
	Take(ctx context.Context, key string, n, limit int64, window time.Duration, newWindow string) (TokenCount, error)
	Adjust(ctx context.Context, key, window string, delta int64) error
}

// TokensOptions configure Tokens; they are the request limiter's.
type TokensOptions struct {
	FailMode    FailMode
	CallTimeout time.Duration
	Guard       Guard
	Log         *slog.Logger
	Metrics     *Metrics
}

// NewTokens returns the tokens-per-minute limiter over store.
func NewTokens(store TokenStore, o TokensOptions) (*Tokens, error) {
	if store == nil {
		return nil, errors.New("ratelimit: nil token store")
	}
	t := &Tokens{store: store, guard: o.Guard, failMode: o.FailMode, timeout: o.CallTimeout, log: o.Log, metrics: o.Metrics}
	switch t.failMode {
	case "":
		t.failMode = FailOpen
	case FailOpen, FailClosed:
	default:
		return nil, fmt.Errorf("ratelimit: unknown fail mode %q", o.FailMode)
	}
	if t.guard == nil {
		t.guard = PassThrough
	}
	if t.timeout <= 0 {
		t.timeout = 250 * time.Millisecond
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	return t, nil
}

// TokenGrant is the answer to Take: whether the call may go ahead and, when
// it was charged, what Settle needs to correct the charge.
type TokenGrant struct {
	// Admitted is false when the worst case does not fit in the window.
	Admitted bool
	// Enforced is false when the store failed and the call passes
	// unlimited (fail open); nothing was charged.
	Enforced bool
	Limit    int64
	// Remaining is what the window has left after the call (before it
	// when refused).
	Remaining int64
	// RetryAfter is how long until the window ends and its tokens free up.
	RetryAfter time.Duration
	key        string
	window     string
	charged    int64
}

// Take charges n tokens to key's window when they fit in limit per minute.
// A store failure passes the call unlimited (fail open) or is 503 (fail
// closed), like the request limiter.
func (t *Tokens) Take(ctx context.Context, key string, limit, n int64) (TokenGrant, error) {
	var c TokenCount
	err := t.call(ctx, func(ctx context.Context) error {
		var err error
		c, err = t.store.Take(ctx, ScopeTokensPerMinute+":"+key, n, limit, TokenWindow, uuid.NewString())
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return TokenGrant{}, ctx.Err()
		}
		t.setDegraded(true, err)
		if t.failMode == FailClosed {
			return TokenGrant{}, errs.Wrap(errs.CodeUnavailable, "rate limiting is temporarily unavailable; retry shortly", err)
		}
		return TokenGrant{Admitted: true, Limit: limit}, nil
	}
	t.setDegraded(false, nil)
	g := TokenGrant{Admitted: c.Admitted, Enforced: true, Limit: limit, Remaining: max(limit-c.Used, 0), RetryAfter: c.ResetIn}
	if c.Admitted {
		g.key, g.window, g.charged = ScopeTokensPerMinute+":"+key, c.Window, n
	} else {
		t.metrics.exceeded(ScopeTokensPerMinute)
	}
	return g, nil
}

// Settle corrects the charge of an admitted grant to the tokens the call
// used: the difference goes back to (or, when it used more, is added to)
// the window it was charged in, if that window still runs. A grant that
// charged nothing is left alone.
func (t *Tokens) Settle(ctx context.Context, g TokenGrant, used int64) error {
	if g.window == "" || used == g.charged {
		return nil
	}
	return t.call(ctx, func(ctx context.Context) error {
		return t.store.Adjust(ctx, g.key, g.window, used-g.charged)
	})
}

func (t *Tokens) call(ctx context.Context, run func(context.Context) error) error {
	return t.guard(ctx, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, t.timeout)
		defer cancel()
		return run(ctx)
	})
}

// setDegraded logs a transition of the store once.
func (t *Tokens) setDegraded(down bool, cause error) {
	if t.degraded.Load() == down || !t.degraded.CompareAndSwap(!down, down) {
		return
	}
	if down {
		t.log.Warn("tokens-per-minute store is failing; API keys' token limits are not enforced",
			slog.String("fail_mode", string(t.failMode)), slog.Any("error", cause))
		return
	}
	t.log.Info("tokens-per-minute store answers again; API keys' token limits are enforced")
}

// NewMemoryTokenStore returns the in-process token store of embedded mode:
// exact for one instance, not shared between replicas. now is its clock
// (time.Now when nil).
func NewMemoryTokenStore(now func() time.Time) TokenStore {
	if now == nil {
		now = time.Now
	}
	return &memoryTokens{now: now, windows: map[string]memoryWindow{}}
}

type memoryTokens struct {
	now     func() time.Time
	mu      sync.Mutex
	windows map[string]memoryWindow
}

type memoryWindow struct {
	id   string
	used int64
	ends time.Time
}

// maxMemoryWindows is when Take sweeps the ended windows out.
const maxMemoryWindows = 10000

func (m *memoryTokens) Take(_ context.Context, key string, n, limit int64, window time.Duration, newWindow string) (TokenCount, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.windows[key]
	if !ok || !now.Before(w.ends) {
		if len(m.windows) >= maxMemoryWindows {
			for k, old := range m.windows {
				if !now.Before(old.ends) {
					delete(m.windows, k)
				}
			}
		}
		w = memoryWindow{id: newWindow, ends: now.Add(window)}
	}
	if w.used+n > limit {
		return TokenCount{Used: w.used, Window: w.id, ResetIn: w.ends.Sub(now)}, nil
	}
	w.used += n
	m.windows[key] = w
	return TokenCount{Admitted: true, Used: w.used, Window: w.id, ResetIn: w.ends.Sub(now)}, nil
}

func (m *memoryTokens) Adjust(_ context.Context, key, window string, delta int64) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.windows[key]
	if !ok || w.id != window || !now.Before(w.ends) {
		return nil
	}
	w.used = max(w.used+delta, 0)
	m.windows[key] = w
	return nil
}

// NewRedisTokenStore returns the token store shared by every replica using
// client. A window is a hash "<prefix>:<key>" with its id (w) and its tokens
// (u), expiring when the window ends; both scripts run atomically in Redis,
// on Redis's clock, so replicas whose clocks differ still share one window.
func NewRedisTokenStore(client *redis.Client, prefix string) TokenStore {
	return &redisTokens{client: client, prefix: prefix}
}

type redisTokens struct {
	client *redis.Client
	prefix string
}

// takeScript: KEYS[1] the window; ARGV n, limit, window ms, new window id.
// Returns {admitted 0|1, used, window id, ms left}.
var takeScript = redis.NewScript(`
local id = redis.call('HGET', KEYS[1], 'w')
local used = 0
local fresh = false
if id then
  used = tonumber(redis.call('HGET', KEYS[1], 'u')) or 0
else
  id = ARGV[4]
  fresh = true
end
local n = tonumber(ARGV[1])
if used + n > tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then ttl = tonumber(ARGV[3]) end
  return {0, used, id, ttl}
end
if fresh then
  redis.call('HSET', KEYS[1], 'w', id, 'u', n)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
else
  redis.call('HINCRBY', KEYS[1], 'u', n)
end
return {1, used + n, id, redis.call('PTTL', KEYS[1])}
`)

// adjustScript: KEYS[1] the window; ARGV window id, delta. Changes the
// window only while it is the one the charge went to.
var adjustScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'w') ~= ARGV[1] then return 0 end
local u = redis.call('HINCRBY', KEYS[1], 'u', ARGV[2])
if u < 0 then redis.call('HSET', KEYS[1], 'u', 0) end
return 1
`)

func (r *redisTokens) Take(ctx context.Context, key string, n, limit int64, window time.Duration, newWindow string) (TokenCount, error) {
	v, err := takeScript.Run(ctx, r.client, []string{r.prefix + ":" + key}, n, limit, window.Milliseconds(), newWindow).Slice()
	if err != nil {
		return TokenCount{}, fmt.Errorf("redis token store: %w", err)
	}
	if len(v) != 4 {
		return TokenCount{}, fmt.Errorf("redis token store: unexpected answer %v", v)
	}
	admitted, _ := v[0].(int64)
	used, _ := v[1].(int64)
	id, _ := v[2].(string)
	ms, _ := v[3].(int64)
	return TokenCount{Admitted: admitted == 1, Used: used, Window: id, ResetIn: time.Duration(max(ms, 0)) * time.Millisecond}, nil
}

func (r *redisTokens) Adjust(ctx context.Context, key, window string, delta int64) error {
	if err := adjustScript.Run(ctx, r.client, []string{r.prefix + ":" + key}, window, delta).Err(); err != nil {
		return fmt.Errorf("redis token store: %w", err)
	}
	return nil
}
