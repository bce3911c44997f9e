package auth

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/golden-architecture/control-plane/services/errs"
)

// MaxPasswordBytes is bcrypt's input limit. Longer passwords are refused, never
// truncated: bcrypt would silently ignore everything after byte 72, so two
// different passwords sharing a prefix would both be accepted.
const MaxPasswordBytes = 72

// MinPasswordBytes is the shortest password a new account or a password change
// accepts. The demo users predate it and are seeded as they are.
const MinPasswordBytes = 8

// MaxUsernameLen bounds usernames (the users table checks it too).
const MaxUsernameLen = 64

// NormalizeUsername is how usernames are stored and looked up: trimmed and
// lowercased, so "Admin " and "admin" are one account.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// validUsername reports whether a normalized name may be given to a new account:
// 1–64 characters from a-z, 0-9 and . _ @ -.
func validUsername(name string) error {
	if name == "" || len(name) > MaxUsernameLen {
		return errs.Validation(errs.FieldError{Field: "username", Message: fmt.Sprintf("must be 1 to %d characters", MaxUsernameLen)})
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("._@-", r)
		if !ok {
			return errs.Validation(errs.FieldError{Field: "username", Message: "may contain only a-z, 0-9 and . _ @ -"})
		}
	}
	return nil
}

// checkPasswordLength refuses passwords bcrypt cannot hash faithfully.
func checkPasswordLength(pw string) error {
	if len(pw) > MaxPasswordBytes {
		return errs.Validation(errs.FieldError{Field: "password",
			Message: fmt.Sprintf("must be at most %d bytes (bcrypt ignores anything longer)", MaxPasswordBytes)})
	}
	return nil
}

// checkNewPassword is the rule for a password being set: 8–72 bytes of valid UTF-8.
func checkNewPassword(pw string) error {
	if err := checkPasswordLength(pw); err != nil {
		return err
	}
	if len(pw) < MinPasswordBytes || !utf8.ValidString(pw) {
		return errs.Validation(errs.FieldError{Field: "password",
			Message: fmt.Sprintf("must be at least %d bytes of valid UTF-8", MinPasswordBytes)})
	}
	return nil
}

// hashPassword hashes pw at cost after checking its length.
func hashPassword(pw string, cost int) (string, error) {
	if err := checkPasswordLength(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// passwordMatches compares pw with hash; bcrypt's work depends only on the
// hash's cost. A corrupt hash counts as no match.
func passwordMatches(hash, pw string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}
