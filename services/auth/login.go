package auth

import (
	"context"
	"log/slog"
	"math"
	"time"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/errs"
)

// Session is the answer of a successful login.
type Session struct {
	Token     string
	ExpiresAt time.Time
	User      User
}

// The audit actions of authentication.
const (
	ActionLoginSuccess = "auth.login.success"
	ActionLoginFail    = "auth.login.fail"
	ActionLoginLocked  = "auth.login.locked"
	ActionLogout       = "auth.logout"
)

// Login checks a username and password and issues a token.
//
// Order matters: the lockout counter of (username, client IP) is incremented
// first, atomically, so N replicas together allow at most LOGIN_MAX_ATTEMPTS
// bcrypt checks per window, and a locked-out attempt costs no hashing. An
// unknown user is checked against a dummy hash and every check is padded to
// the same bcrypt work (loginWork), so the answer and the time it takes do not
// reveal which usernames exist, whatever cost their hashes were made at. A
// success resets the counter and rehashes a password stored at another cost
// than BCRYPT_COST.
func (s *Service) Login(ctx context.Context, actor audit.Actor, username, password string) (Session, error) {
	if err := checkPasswordLength(password); err != nil {
		return Session{}, err
	}
	name := NormalizeUsername(username)
	key := "lockout:" + actor.ClientIP + ":" + name
	attempts, left, err := s.store.Incr(ctx, key, s.opts.LockoutTTL)
	switch {
	case err != nil && s.opts.FailOpen:
		s.log.WarnContext(ctx, "login lockout store failed; allowing the attempt (RATE_LIMIT_FAIL_MODE=open)", slog.Any("error", err))
	case err != nil:
		s.logins.WithLabelValues("fail").Inc()
		return Session{}, errs.Wrap(errs.CodeUnavailable, "login is unavailable right now; try again shortly", err)
	case attempts > int64(s.opts.MaxAttempts):
		return Session{}, s.locked(ctx, actor, name, left)
	}

	u, lookupErr := s.users.account(ctx, name)
	if lookupErr != nil && !errs.Is(lookupErr, errs.CodeNotFound) {
		return Session{}, errs.Wrap(errs.CodeUnavailable, "login is unavailable right now; try again shortly", lookupErr)
	}
	hash := "" // a dummy one
	if lookupErr == nil {
		hash = u.PasswordHash
	}
	match, err := s.work.check(ctx, hash, password)
	if err != nil {
		return Session{}, errs.Wrap(errs.CodeUnavailable, "login is unavailable right now; try again shortly", err)
	}
	reason := ""
	switch {
	case lookupErr != nil:
		reason = "unknown_user"
	case !match:
		reason = "wrong_password"
	case u.Disabled:
		reason = "disabled"
	}
	if reason != "" {
		return Session{}, s.failed(ctx, actor, name, u, reason)
	}

	user := userOf(u)
	issued, err := s.tokens.Issue(user)
	if err != nil {
		return Session{}, err
	}
	who := audit.Actor{
		PrincipalID: UserPrincipal(u.ID), UserID: u.ID, Username: u.Username, Role: u.Role, TenantID: user.TenantID,
		RequestID: actor.RequestID, ClientIP: actor.ClientIP,
	}
	if err := s.audit.Write(ctx, who, audit.Entry{
		Action: ActionLoginSuccess, ResourceType: "user", ResourceID: u.ID,
		Details: map[string]any{"username": u.Username, "token_id": issued.ID},
	}); err != nil {
		return Session{}, err
	}
	if err := s.store.Delete(ctx, key); err != nil {
		s.log.WarnContext(ctx, "could not reset the login lockout counter", slog.Any("error", err))
	}
	if changed, err := s.users.rehash(ctx, u.ID, u.PasswordHash, password); err != nil {
		s.log.WarnContext(ctx, "could not rehash a password at BCRYPT_COST", slog.String("user_id", u.ID), slog.Any("error", err))
	} else if changed {
		s.log.InfoContext(ctx, "password rehashed at BCRYPT_COST", slog.String("user_id", u.ID))
	}
	s.cache.forget(u.ID)
	s.logins.WithLabelValues("success").Inc()
	return Session{Token: issued.Token, ExpiresAt: issued.ExpiresAt, User: user}, nil
}

// failed records a failed attempt and returns the one 401 of every failure.
func (s *Service) failed(ctx context.Context, actor audit.Actor, name string, u models.User, reason string) error {
	s.logins.WithLabelValues("fail").Inc()
	who := audit.Actor{UserID: u.ID, Role: u.Role, RequestID: actor.RequestID, ClientIP: actor.ClientIP}
	if err := s.audit.Write(ctx, who, audit.Entry{
		Action: ActionLoginFail, ResourceType: "user", ResourceID: u.ID,
		Details: map[string]any{"username": name, "reason": reason},
	}); err != nil {
		s.log.ErrorContext(ctx, "could not audit a failed login", slog.Any("error", err))
	}
	return errs.New(errs.CodeInvalidCredentials, "invalid username or password")
}

// locked records a locked-out attempt and returns the 429 with its wait.
func (s *Service) locked(ctx context.Context, actor audit.Actor, name string, left time.Duration) error {
	s.logins.WithLabelValues("fail").Inc()
	wait := max(int64(math.Ceil(left.Seconds())), 1)
	who := audit.Actor{RequestID: actor.RequestID, ClientIP: actor.ClientIP}
	if err := s.audit.Write(ctx, who, audit.Entry{
		Action: ActionLoginLocked, ResourceType: "user",
		Details: map[string]any{"username": name, "retry_after_seconds": wait},
	}); err != nil {
		s.log.ErrorContext(ctx, "could not audit a locked-out login", slog.Any("error", err))
	}
	return errs.New(errs.CodeRateLimited, "too many failed logins; try again later").
		WithDetails(map[string]any{"retry_after_seconds": wait})
}

// Logout revokes the token of id until it expires.
func (s *Service) Logout(ctx context.Context, actor audit.Actor, id Identity) error {
	if id.KeyID != "" {
		return errs.New(errs.CodeInvalidRequest, "an API key does not log out: revoke it with DELETE /api/v1/keys/{id}")
	}
	left := id.ExpiresAt.Sub(s.now())
	if left > 0 {
		if err := s.store.Set(ctx, revokedKey(id.TokenID), 1, left+time.Minute); err != nil {
			return errs.Wrap(errs.CodeUnavailable, "the token could not be revoked right now; try again shortly", err)
		}
	}
	s.verified.forget(id.TokenID, id.ExpiresAt, s.now())
	return s.audit.Write(ctx, actor, audit.Entry{
		Action: ActionLogout, ResourceType: "token", ResourceID: id.TokenID,
		Details: map[string]any{"username": id.Username},
	})
}
