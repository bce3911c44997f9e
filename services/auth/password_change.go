package auth

import (
	"context"
	"log/slog"
	"math"
	"time"

	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/errs"
)

// The audit actions of a user changing its own password.
const (
	ActionPasswordChange     = "auth.password.change"
	ActionPasswordChangeFail = "auth.password.change.fail"
)

// ChangePassword replaces the caller's own password, given the current one,
// and returns a new session: every token issued to the account before the
// change stops verifying — the presented one too, on this replica at once
// and on the others within the user cache's TTL — so the caller continues
// with the new token and its other sessions (a stolen token among them) end.
//
// A wrong current password is a 422 naming old_password, not a 401: the
// caller's token is valid, and clients drop their session on a 401. Wrong
// attempts count against LOGIN_MAX_ATTEMPTS per account within
// LOGIN_LOCKOUT_TTL_SECONDS (429 after that), so a stolen token cannot be
// used to guess the password at bcrypt speed. Only a user's own login token
// may change its password (an API key acting for the user may not).
func (s *Service) ChangePassword(ctx context.Context, actor audit.Actor, id Identity, current, next string) (Session, error) {
	if !isUserToken(id) {
		return Session{}, errs.New(errs.CodeForbidden, "only a user's own login token can change its password")
	}
	var f []errs.FieldError
	f = append(f, fieldsOf(renameField(checkPasswordLength(current), "old_password"))...)
	f = append(f, fieldsOf(renameField(checkNewPassword(next), "new_password"))...)
	if len(f) == 0 && current == next {
		f = append(f, errs.FieldError{Field: "new_password", Message: "must differ from the current password"})
	}
	if len(f) > 0 {
		return Session{}, errs.Validation(f...)
	}
	key := "password-change:" + id.UserID
	attempts, left, err := s.store.Incr(ctx, key, s.opts.LockoutTTL)
	switch {
	case err != nil && s.opts.FailOpen:
		s.log.WarnContext(ctx, "password change lockout store failed; allowing the attempt (RATE_LIMIT_FAIL_MODE=open)", slog.Any("error", err))
	case err != nil:
		return Session{}, errs.Wrap(errs.CodeUnavailable, "password changes are unavailable right now; try again shortly", err)
	case attempts > int64(s.opts.MaxAttempts):
		return Session{}, lockedOut(left, "too many wrong passwords; try again later")
	}
	row, err := s.users.byIDWithHash(ctx, id.UserID)
	if errs.Is(err, errs.CodeNotFound) {
		return Session{}, unauthorized()
	}
	if err != nil {
		return Session{}, err
	}
	if !passwordMatches(row.PasswordHash, current) {
		if err := s.audit.Write(ctx, actor, audit.Entry{
			Action: ActionPasswordChangeFail, ResourceType: resourceUser, ResourceID: id.UserID,
			Details: map[string]any{"username": row.Username, "reason": "wrong_password"},
		}); err != nil {
			s.log.ErrorContext(ctx, "could not audit a failed password change", slog.Any("error", err))
		}
		return Session{}, errs.Validation(errs.FieldError{Field: "old_password", Message: "is not the current password"})
	}
	hash, err := hashPassword(next, s.users.cost)
	if err != nil {
		return Session{}, err
	}
	var user User
	err = s.users.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		u, err := s.setPassword(tx, id.UserID, hash)
		if err != nil {
			return err
		}
		user = u
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionPasswordChange, ResourceType: resourceUser, ResourceID: id.UserID,
			Details: map[string]any{"username": u.Username, "token_id": id.TokenID},
		}}})
	})
	if err != nil {
		return Session{}, err
	}
	s.cache.forget(id.UserID)
	if err := s.store.Delete(ctx, key); err != nil {
		s.log.WarnContext(ctx, "could not reset the password change lockout counter", slog.Any("error", err))
	}
	issued, err := s.tokens.Issue(user)
	if err != nil {
		return Session{}, err
	}
	return Session{Token: issued.Token, ExpiresAt: issued.ExpiresAt, User: user}, nil
}

// lockedOut is the 429 of a locked-out attempt with its wait.
func lockedOut(left time.Duration, msg string) error {
	wait := max(int64(math.Ceil(left.Seconds())), 1)
	return errs.New(errs.CodeRateLimited, msg).WithDetails(map[string]any{"retry_after_seconds": wait})
}
