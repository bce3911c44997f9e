package auth

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/errs"
)

// Store keeps the login lockout counters and the revoked token ids:
// integer values that expire. platform/kv's Redis and memory stores
// implement it.
type Store interface {
	// Incr adds one to key and returns the new value and the time left
	// before it expires; a new key expires after ttl.
	Incr(ctx context.Context, key string, ttl time.Duration) (n int64, left time.Duration, err error)
	// Get returns the value of key (0 when missing) and its time left.
	Get(ctx context.Context, key string) (n int64, left time.Duration, err error)
	// Set stores n under key for ttl.
	Set(ctx context.Context, key string, n int64, ttl time.Duration) error
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// Auditor writes audit entries: inside the transaction of the action they
// record (RecordAll), or on their own when the action has no transaction, as
// a failed login (Write). audit.Service implements it.
type Auditor interface {
	Write(ctx context.Context, actor audit.Actor, e audit.Entry) error
	RecordAll(ctx context.Context, tx *gorm.DB, items []audit.Item) error
}

var _ Auditor = (*audit.Service)(nil)

// Service logs users in and out and verifies their tokens.
type Service struct {
	users  *Users
	tokens *Tokens
	store  Store
	audit  Auditor
	log    *slog.Logger
	opts   Options
	now    func() time.Time

	// work makes every login cost the same bcrypt work, known user or not
	// (an unknown user is compared with a dummy hash).
	work *loginWork

	logins   *prometheus.CounterVec
	cache    *userCache
	verified *verifiedTokens
	keys     KeyVerifier
}

// APIKeyPrefix starts every API key secret ("gak_…"); a bearer credential
// with it is an API key, any other a JWT.
const APIKeyPrefix = "gak_"

// KeyVerifier checks an API key secret (services/apikeys implements it).
type KeyVerifier interface {
	VerifyKey(ctx context.Context, secret string) (Identity, error)
}

// UseKeys makes Verify accept API keys, checked by k. Call it before the
// service serves requests.
func (s *Service) UseKeys(k KeyVerifier) { s.keys = k }

// Options are the login and verification rules.
type Options struct {
	// MaxAttempts failed logins per username and client IP within LockoutTTL
	// lock that pair out until the window ends.
	MaxAttempts int
	LockoutTTL  time.Duration
	// FailOpen lets logins through (with a warning) when the lockout store
	// errors; otherwise they are answered 503.
	FailOpen bool
	// UserCacheTTL is how long a verified token's user (role, disabled,
	// password change) is reused before it is read again.
	UserCacheTTL time.Duration
	// TokenCacheTTL is how long a token that passed the signature and
	// revocation checks is trusted without checking them again. A logout
	// applies at once on the process that served it and within this on the
	// others; 0 checks every request.
	TokenCacheTTL time.Duration
	// DefaultTenant (DEFAULT_TENANT) is the tenant of a non-admin account
	// found without one (written by an older release before the start that
	// moves such accounts ran): never a platform principal. Required.
	DefaultTenant string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// New builds the auth service. It registers auth_logins_total on reg.
func New(users *Users, tokens *Tokens, store Store, auditor Auditor, log *slog.Logger, reg prometheus.Registerer, o Options) (*Service, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.DefaultTenant == "" {
		return nil, errors.New("auth: a default tenant is required")
	}
	work := newLoginWork(users)
	if _, err := work.dummy(users.cost); err != nil {
		return nil, err
	}
	logins := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "auth_logins_total",
		Help: "Login attempts by result (fail includes locked-out attempts).",
	}, []string{"result"})
	if reg != nil {
		if err := reg.Register(logins); err != nil {
			return nil, err
		}
	}
	logins.WithLabelValues("success")
	logins.WithLabelValues("fail")
	return &Service{
		users: users, tokens: tokens, store: store, audit: auditor, log: log, opts: o, now: o.Now,
		work: work, logins: logins,
		cache:    &userCache{ttl: o.UserCacheTTL, now: o.Now, items: map[string]cachedUser{}},
		verified: &verifiedTokens{ttl: o.TokenCacheTTL, items: map[string]verifiedToken{}, loggedOut: map[string]time.Time{}},
	}, nil
}

// Users is the account store.
func (s *Service) Users() *Users { return s.users }

// Tokens is the signer and parser.
func (s *Service) Tokens() *Tokens { return s.tokens }

// Verify implements middleware.TokenVerifier: a valid signature and claims, a
// jti that was not revoked, and a user that still exists, is enabled, and has
// neither changed password nor been changed by an admin (role, tenant,
// disabled) since the token was issued. The role, permissions and
// tenant are the user's current ones (read from the database, cached for
// UserCacheTTL); no claim of the token decides them.
//
// A credential starting with APIKeyPrefix is an API key, checked by the
// KeyVerifier of UseKeys (401 without one).
func (s *Service) Verify(ctx context.Context, token string) (Identity, error) {
	if strings.HasPrefix(token, APIKeyPrefix) {
		if s.keys == nil {
			return Identity{}, unauthorized()
		}
		return s.keys.VerifyKey(ctx, token)
	}
	c, err := s.checkToken(ctx, token)
	if err != nil {
		return Identity{}, err
	}
	u, err := s.cache.get(ctx, c.Subject, s.users.ByID)
	if errs.Is(err, errs.CodeNotFound) {
		return Identity{}, unauthorized()
	}
	if err != nil {
		// The database, not the token, failed: 503, never a 401 that would
		// log the client out, nor an anonymous caller (middleware.Identify).
		return Identity{}, errs.Wrap(errs.CodeUnavailable, "the token's account cannot be checked right now; try again shortly", err)
	}
	if u.Disabled || c.issuedBefore(u.validAfter()) {
		return Identity{}, unauthorized()
	}
	tenant := u.TenantID
	if tenant == "" && u.Role != RoleAdmin {
		tenant = s.opts.DefaultTenant // only an admin may be a platform principal
	}
	return Identity{
		PrincipalID: UserPrincipal(u.ID), UserID: u.ID, Username: u.Username, Role: u.Role, TenantID: tenant,
		TokenID: c.ID, ExpiresAt: c.ExpiresAt.Time,
	}, nil
}

// checkToken verifies the signature and claims and that the jti was not
// revoked, or trusts a token that passed both within TokenCacheTTL: a busy
// client then costs no store round trip and no signature check per request.
func (s *Service) checkToken(ctx context.Context, token string) (Claims, error) {
	now := s.now()
	if c, ok := s.verified.get(token, now); ok {
		return c, nil
	}
	c, err := s.tokens.Parse(token)
	if err != nil {
		return Claims{}, err
	}
	revoked, _, err := s.store.Get(ctx, revokedKey(c.ID))
	if err != nil {
		if !s.opts.FailOpen {
			return Claims{}, errs.Wrap(errs.CodeUnavailable, "token revocation cannot be checked right now", err)
		}
		s.log.WarnContext(ctx, "revocation store failed; accepting the token (RATE_LIMIT_FAIL_MODE=open)", slog.Any("error", err))
		return c, nil // not remembered: the next request checks again
	}
	if revoked > 0 {
		return Claims{}, unauthorized()
	}
	s.verified.put(token, c, now)
	return c, nil
}

func unauthorized() error {
	return errs.New(errs.CodeUnauthorized, "the bearer token is invalid, expired or revoked")
}

func revokedKey(jti string) string { return "revoked:" + jti }

// verifiedTokens remembers tokens that passed the signature and revocation
// checks, until ttl after the check or the token's expiry, whichever is first.
type verifiedTokens struct {
	ttl   time.Duration
	mu    sync.Mutex
	items map[string]verifiedToken
	// loggedOut holds the jtis this process revoked, until their tokens
	// expire, so a check that was already running during the logout cannot
	// remember the token again.
	loggedOut map[string]time.Time
}

type verifiedToken struct {
	claims Claims
	until  time.Time
}

func (v *verifiedTokens) get(token string, now time.Time) (Claims, bool) {
	if v.ttl <= 0 {
		return Claims{}, false
	}
	v.mu.Lock()
	it, ok := v.items[token]
	v.mu.Unlock()
	if !ok || !now.Before(it.until) {
		return Claims{}, false
	}
	return it.claims, true
}

func (v *verifiedTokens) put(token string, c Claims, now time.Time) {
	if v.ttl <= 0 {
		return
	}
	until := now.Add(v.ttl)
	if c.ExpiresAt != nil && c.ExpiresAt.Before(until) {
		until = c.ExpiresAt.Time
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, gone := v.loggedOut[c.ID]; gone {
		return
	}
	if len(v.items) >= maxCached {
		clear(v.items)
	}
	v.items[token] = verifiedToken{claims: c, until: until}
}

// forget drops every remembered token with this jti and keeps it from being
// remembered again until expires (after a logout here).
func (v *verifiedTokens) forget(jti string, expires, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for id, until := range v.loggedOut {
		if !now.Before(until) {
			delete(v.loggedOut, id)
		}
	}
	if len(v.loggedOut) < maxCached {
		v.loggedOut[jti] = expires
	}
	for token, it := range v.items {
		if it.claims.ID == jti {
			delete(v.items, token)
		}
	}
}

// maxCached bounds each cache; a full cache is emptied and refills from the
// next requests.
const maxCached = 10000

// userCache keeps users read by Verify for a short TTL, so a request costs no
// database read while a role change or a disabled account applies within the TTL.
type userCache struct {
	ttl   time.Duration
	now   func() time.Time
	mu    sync.Mutex
	items map[string]cachedUser
}

type cachedUser struct {
	user    User
	fetched time.Time
}

func (c *userCache) get(ctx context.Context, id string, load func(context.Context, string) (User, error)) (User, error) {
	now := c.now()
	c.mu.Lock()
	it, ok := c.items[id]
	c.mu.Unlock()
	if ok && now.Sub(it.fetched) < c.ttl {
		return it.user, nil
	}
	u, err := load(ctx, id)
	if err != nil {
		return u, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.items) >= maxCached {
		clear(c.items)
	}
	c.items[id] = cachedUser{user: u, fetched: now}
	return u, nil
}

// forget drops a user from the cache (after a change made by this process).
func (c *userCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.items, id)
}
