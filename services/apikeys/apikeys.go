// Package apikeys keeps the API keys of DESIGN §7, the credentials of
// automated clients: creation (the secret shown once), listing, revocation
// and rotation with a grace period, all audited in the transaction of the
// change, and the verification of a presented secret (verify.go), which
// services/auth calls for every bearer credential starting with "gak_".
package apikeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ulule/limiter/v3"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
)

// The audit actions of API keys.
const (
	ActionCreate = "key.create"
	ActionRevoke = "key.revoke"
	ActionRotate = "key.rotate"
)

// resourceKey is the audit resource type of an API key.
const resourceKey = "api_key"

// Bounds of a key. They are part of the API contract (the handlers' binding
// tags and swag annotations repeat them).
const (
	MaxNameLength      = 200
	MaxProjectIDLength = 128
	// MaxTokensPerMinute bounds a key's tokens-per-minute limit.
	MaxTokensPerMinute = 1_000_000_000
	// MaxGrace is the longest a rotated-out secret keeps working.
	MaxGrace = 7 * 24 * time.Hour
	// secretBytes is the randomness of a secret: 32 bytes, 43 base62 digits.
	secretBytes  = 32
	secretDigits = 43
	// prefixLength is how much of the secret is kept for display: "gak_" and
	// the first four random digits.
	prefixLength = len(auth.APIKeyPrefix) + 4
)

// Status of a key, derived from its times.
const (
	StatusActive  = "active"
	StatusExpired = "expired"
	StatusRevoked = "revoked"
)

// Key is an API key as the service shows it: never its secret nor its hash.
type Key struct {
	ID string
	// TenantID is the key's tenant; "" is a platform key (admin role only).
	TenantID string
	Name     string
	Role     auth.Role
	// ProjectID is the project the key is bound to; "" for none.
	ProjectID string
	// Prefix and LastFour show which secret this is ("gak_AbC1…wXyZ").
	Prefix   string
	LastFour string
	// RateLimit is the key's own limit like "600-M"; "" uses its role's.
	RateLimit string
	// TokensPerMinute caps the LLM tokens of the key's gateway calls per
	// minute; 0 for no limit.
	TokensPerMinute int64
	ExpiresAt       *time.Time
	// CreatedBy is the id of the user who created the key.
	CreatedBy string
	CreatedAt time.Time
	RotatedAt *time.Time
	// PreviousExpiresAt is when the secret a rotation replaced stops
	// working; nil when no such secret works any more.
	PreviousExpiresAt *time.Time
	RevokedAt         *time.Time
	LastUsedAt        *time.Time
}

// Status is active, expired or revoked at now.
func (k Key) Status(now time.Time) string {
	switch {
	case k.RevokedAt != nil:
		return StatusRevoked
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return StatusExpired
	}
	return StatusActive
}

func keyOf(r models.APIKey, now time.Time) Key {
	k := Key{
		ID: r.ID, Name: r.Name, Role: auth.Role(r.Role), Prefix: r.Prefix, LastFour: r.LastFour,
		ExpiresAt: utc(r.ExpiresAt), CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(),
		RotatedAt: utc(r.RotatedAt), RevokedAt: utc(r.RevokedAt), LastUsedAt: utc(r.LastUsedAt),
	}
	if r.TenantID != nil {
		k.TenantID = *r.TenantID
	}
	if r.ProjectID != nil {
		k.ProjectID = *r.ProjectID
	}
	if r.RateLimit != nil {
		k.RateLimit = *r.RateLimit
	}
	if r.TokensPerMinute != nil {
		k.TokensPerMinute = *r.TokensPerMinute
	}
	if r.PreviousExpiresAt != nil && r.PreviousSecretHash != nil && r.RevokedAt == nil && now.Before(*r.PreviousExpiresAt) {
		k.PreviousExpiresAt = utc(r.PreviousExpiresAt)
	}
	return k
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Created is a new key or a rotated one with its secret, which is shown
// this once and never stored.
type Created struct {
	Key    Key
	Secret string
}

// Auditor writes audit entries inside the action's transaction
// (audit.Service implements it).
type Auditor interface {
	RecordAll(ctx context.Context, tx *gorm.DB, items []audit.Item) error
}

var _ Auditor = (*audit.Service)(nil)

// Options configure the service.
type Options struct {
	// CheckTTL is how long a verified key is trusted before it is read
	// again: a revocation or rotation on another replica, a disabled
	// creator, apply within it. 0 reads every request.
	CheckTTL time.Duration
	// LastUsedEvery is the least time between two writes of a key's
	// last_used_at (one minute when 0).
	LastUsedEvery time.Duration
	// Log receives failed last_used_at writes.
	Log *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service stores API keys and verifies their secrets.
type Service struct {
	db    *gorm.DB
	audit Auditor
	opts  Options
	now   func() time.Time
	cache *keyCache
}

// New returns the key service on db, auditing through auditor.
func New(db *gorm.DB, auditor Auditor, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LastUsedEvery <= 0 {
		o.LastUsedEvery = time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, audit: auditor, opts: o, now: cursor.DBClock(o.Now), cache: newKeyCache(o.CheckTTL)}
}

// CreateInput is a new key.
type CreateInput struct {
	Name string
	Role auth.Role
	// TenantID is the tenant, already resolved for the caller (see
	// tenants.Service.Resolve); "" makes a platform key, admin role only.
	TenantID  string
	ProjectID string
	ExpiresAt *time.Time
	// RateLimit like "600-M" replaces the role's limit; "" keeps it.
	RateLimit string
	// TokensPerMinute caps the LLM tokens of the key's gateway calls per
	// minute (1 to MaxTokensPerMinute); nil for no limit.
	TokensPerMinute *int64
}

// Create adds a key for the caller (actor), whose role must include the
// key's (auth.Role.Includes), and returns it with its secret. The tenant
// must exist. Audited as key.create.
func (s *Service) Create(ctx context.Context, actor audit.Actor, in CreateInput) (Created, error) {
	now := s.now()
	in.Name = strings.TrimSpace(in.Name)
	in.ProjectID = strings.TrimSpace(in.ProjectID)
	in.RateLimit = strings.TrimSpace(in.RateLimit)
	if err := s.check(actor, in, now); err != nil {
		return Created{}, err
	}
	secret, err := newSecret()
	if err != nil {
		return Created{}, err
	}
	row := models.APIKey{
		ID: uuid.NewString(), Name: in.Name, Role: string(in.Role),
		Prefix: secret[:prefixLength], LastFour: secret[len(secret)-4:], SecretHash: Hash(secret),
		CreatedBy: actor.UserID, CreatedAt: now,
	}
	if in.TenantID != "" {
		row.TenantID = &in.TenantID
	}
	if in.ProjectID != "" {
		row.ProjectID = &in.ProjectID
	}
	if in.RateLimit != "" {
		row.RateLimit = &in.RateLimit
	}
	row.TokensPerMinute = in.TokensPerMinute
	if in.ExpiresAt != nil {
		e := cursor.DBTime(*in.ExpiresAt)
		row.ExpiresAt = &e
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionCreate, ResourceType: resourceKey, ResourceID: row.ID, Details: details(row),
		}}})
	})
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		if in.TenantID != "" && !s.tenantExists(ctx, in.TenantID) {
			return Created{}, errs.Validation(errs.FieldError{Field: "tenant_id", Message: fmt.Sprintf("tenant %q does not exist", in.TenantID)})
		}
		return Created{}, errs.New(errs.CodeUnauthorized, "the account creating the key no longer exists")
	}
	if err != nil {
		return Created{}, fmt.Errorf("apikeys: create: %w", err)
	}
	return Created{Key: keyOf(row, now), Secret: secret}, nil
}

func (s *Service) tenantExists(ctx context.Context, id string) bool {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.Tenant{}).Where("id = ?", id).Count(&n).Error
	return err != nil || n > 0
}

// check validates a new key against the caller.
func (s *Service) check(actor audit.Actor, in CreateInput, now time.Time) error {
	var f []errs.FieldError
	switch {
	case in.Name == "":
		f = append(f, errs.FieldError{Field: "name", Message: "must not be blank"})
	case len([]rune(in.Name)) > MaxNameLength:
		f = append(f, errs.FieldError{Field: "name", Message: fmt.Sprintf("must be at most %d characters", MaxNameLength)})
	case hasControl(in.Name):
		f = append(f, errs.FieldError{Field: "name", Message: "must not contain control characters"})
	}
	_, roleOK := auth.ParseRole(string(in.Role))
	if !roleOK {
		f = append(f, errs.FieldError{Field: "role", Message: "must be one of: admin, operator, developer, observer"})
	}
	if roleOK && in.TenantID == "" && in.Role != auth.RoleAdmin {
		f = append(f, errs.FieldError{Field: "tenant_id", Message: "is required: only an admin key may be a platform key (no tenant)"})
	}
	if len(in.ProjectID) > MaxProjectIDLength || hasControl(in.ProjectID) {
		f = append(f, errs.FieldError{Field: "project_id", Message: fmt.Sprintf("must be at most %d characters without control characters", MaxProjectIDLength)})
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		f = append(f, errs.FieldError{Field: "expires_at", Message: "must be in the future"})
	}
	if in.RateLimit != "" {
		if _, err := ParseRate(in.RateLimit); err != nil {
			f = append(f, errs.FieldError{Field: "rate_limit", Message: err.Error()})
		}
	}
	if n := in.TokensPerMinute; n != nil && (*n < 1 || *n > MaxTokensPerMinute) {
		f = append(f, errs.FieldError{Field: "tokens_per_minute", Message: fmt.Sprintf("must be from 1 to %d, or omitted for no limit", MaxTokensPerMinute)})
	}
	if len(f) > 0 {
		return errs.Validation(f...)
	}
	if creator := auth.Role(actor.Role); !creator.Includes(in.Role) {
		return errs.Newf(errs.CodeForbidden, "role %s may not create a key of role %s: a key's role is at most its creator's", creator, in.Role).
			WithDetails(map[string]any{"role": creator, "key_role": in.Role})
	}
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// ParseRate reads a rate limit like "600-M" (ulule/limiter's format, as
// RATE_LIMIT_* use): at least one request per second, minute, hour or day.
func ParseRate(s string) (auth.Rate, error) {
	r, err := limiter.NewRateFromFormatted(s)
	if err != nil {
		return auth.Rate{}, errors.New("must be a rate like 600-M: requests per S, M, H or D")
	}
	if r.Limit < 1 {
		return auth.Rate{}, errors.New("must allow at least one request")
	}
	return auth.Rate{Limit: r.Limit, Period: r.Period}, nil
}

func details(r models.APIKey) map[string]any {
	d := map[string]any{"name": r.Name, "role": r.Role, "prefix": r.Prefix, "last_four": r.LastFour, "tenant_id": ""}
	if r.TenantID != nil {
		d["tenant_id"] = *r.TenantID
	}
	if r.ProjectID != nil {
		d["project_id"] = *r.ProjectID
	}
	if r.RateLimit != nil {
		d["rate_limit"] = *r.RateLimit
	}
	if r.TokensPerMinute != nil {
		d["tokens_per_minute"] = *r.TokensPerMinute
	}
	if r.ExpiresAt != nil {
		d["expires_at"] = r.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return d
}

// newSecret is "gak_" and 32 random bytes as 43 base62 digits.
func newSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("apikeys: random secret: %w", err)
	}
	digits := new(big.Int).SetBytes(b).Text(62)
	return auth.APIKeyPrefix + strings.Repeat("0", secretDigits-len(digits)) + digits, nil
}

// Hash is the stored form of a secret: its SHA-256 in hex. A secret has 256
// random bits, so no slow hash is needed (nor would bcrypt let a key be
// found by its hash).
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ListFilter pages through keys.
type ListFilter struct {
	// TenantID limits the list to one tenant; "" lists every tenant's keys
	// and the platform keys (for a platform principal).
	TenantID string
	Cursor   string
	Limit    int
}

// List returns keys newest first with keyset paging.
func (s *Service) List(ctx context.Context, f ListFilter) (cursor.Page[Key], error) {
	keys, err := cursor.Parse(f.Cursor, f.Limit, func(id string) (any, bool) { return id, uuid.Validate(id) == nil })
	if err != nil {
		return cursor.Page[Key]{}, err
	}
	q := s.db.WithContext(ctx).Model(&models.APIKey{})
	if f.TenantID != "" {
		q = q.Where("tenant_id = ?", f.TenantID)
	}
	var rows []models.APIKey
	if err := keys.Apply(q).Find(&rows).Error; err != nil {
		return cursor.Page[Key]{}, fmt.Errorf("apikeys: list: %w", err)
	}
	now := s.now()
	return cursor.Cut(keys, rows, func(r models.APIKey) (time.Time, string) { return r.CreatedAt, r.ID },
		func(r models.APIKey) Key { return keyOf(r, now) }), nil
}

// Get returns one key. tenant is the caller's ("" for a platform principal,
// who sees every key): a key of another tenant is resource.not_found, as one
// that does not exist.
func (s *Service) Get(ctx context.Context, tenant, id string) (Key, error) {
	row, err := s.find(s.db.WithContext(ctx), tenant, id)
	if err != nil {
		return Key{}, err
	}
	return keyOf(row, s.now()), nil
}

func (s *Service) find(db *gorm.DB, tenant, id string) (models.APIKey, error) {
	var row models.APIKey
	if uuid.Validate(id) != nil {
		return row, notFound(id)
	}
	q := db.Where("id = ?", id)
	if tenant != "" {
		q = q.Where("tenant_id = ?", tenant)
	}
	err := q.Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, notFound(id)
	}
	if err != nil {
		return row, fmt.Errorf("apikeys: read %s: %w", id, err)
	}
	return row, nil
}

func notFound(id string) error { return errs.Newf(errs.CodeNotFound, "api key %q not found", id) }

// Revoke ends a key at once on this replica and within CheckTTL on the
// others. tenant is the caller's, as for Get. Revoking a revoked key answers
// it as it is and writes nothing. Audited as key.revoke.
func (s *Service) Revoke(ctx context.Context, actor audit.Actor, tenant, id string) (Key, error) {
	var out models.APIKey
	now := s.now()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, err := s.find(tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}), tenant, id)
		if err != nil {
			return err
		}
		out = row
		if row.RevokedAt != nil {
			return nil
		}
		out.RevokedAt = &now
		if err := tx.Model(&models.APIKey{}).Where("id = ?", id).Update("revoked_at", now).Error; err != nil {
			return fmt.Errorf("apikeys: revoke %s: %w", id, err)
		}
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionRevoke, ResourceType: resourceKey, ResourceID: id, Details: details(row),
		}}})
	})
	if err != nil {
		return Key{}, err
	}
	s.cache.forget(id)
	return keyOf(out, now), nil
}

// Rotate gives a key a new secret; the old one keeps working for grace
// (0 ends it at once; at most MaxGrace), then stops on every replica within
// CheckTTL. A secret an earlier rotation kept in grace stops at once. The
// caller's role must include the key's, since the new secret acts as the
// key. tenant is the caller's, as for Get. A revoked or expired key is a 409.
// Audited as key.rotate.
func (s *Service) Rotate(ctx context.Context, actor audit.Actor, tenant, id string, grace time.Duration) (Created, error) {
	if grace < 0 || grace > MaxGrace {
		return Created{}, errs.Validation(errs.FieldError{Field: "grace_seconds", Message: fmt.Sprintf("must be between 0 and %d", int(MaxGrace.Seconds()))})
	}
	secret, err := newSecret()
	if err != nil {
		return Created{}, err
	}
	now := s.now()
	var out models.APIKey
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, err := s.find(tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}), tenant, id)
		if err != nil {
			return err
		}
		if creator := auth.Role(actor.Role); !creator.Includes(auth.Role(row.Role)) {
			return errs.Newf(errs.CodeForbidden, "role %s may not rotate a key of role %s: the new secret would act as that role", creator, row.Role).
				WithDetails(map[string]any{"role": creator, "key_role": row.Role})
		}
		switch keyOf(row, now).Status(now) {
		case StatusRevoked:
			return errs.Newf(errs.CodeConflict, "api key %q is revoked", id)
		case StatusExpired:
			return errs.Newf(errs.CodeConflict, "api key %q is expired", id)
		}
		out = row
		old := row.SecretHash
		out.SecretHash, out.Prefix, out.LastFour, out.RotatedAt = Hash(secret), secret[:prefixLength], secret[len(secret)-4:], &now
		out.PreviousSecretHash, out.PreviousExpiresAt = nil, nil
		if grace > 0 {
			until := now.Add(grace)
			out.PreviousSecretHash, out.PreviousExpiresAt = &old, &until
		}
		if err := tx.Model(&models.APIKey{}).Where("id = ?", id).Updates(map[string]any{
			"secret_hash": out.SecretHash, "prefix": out.Prefix, "last_four": out.LastFour, "rotated_at": now,
			"previous_secret_hash": out.PreviousSecretHash, "previous_expires_at": out.PreviousExpiresAt,
		}).Error; err != nil {
			return fmt.Errorf("apikeys: rotate %s: %w", id, err)
		}
		d := details(out)
		d["grace_seconds"] = int64(grace.Seconds())
		d["old_prefix"], d["old_last_four"] = row.Prefix, row.LastFour
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionRotate, ResourceType: resourceKey, ResourceID: id, Details: d,
		}}})
	})
	if err != nil {
		return Created{}, err
	}
	s.cache.forget(id)
	return Created{Key: keyOf(out, now), Secret: secret}, nil
}
