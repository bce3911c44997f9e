package apikeys

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/errs"
)

var _ auth.KeyVerifier = (*Service)(nil)

// stored is what verification reads of a key in its one query: the key and
// its creator's account.
type stored struct {
	ID                 string
	TenantID           *string
	Role               string
	ProjectID          *string
	RateLimit          *string
	TokensPerMinute    *int64
	SecretHash         string
	PreviousSecretHash *string
	PreviousExpiresAt  *time.Time
	ExpiresAt          *time.Time
	RevokedAt          *time.Time
	LastUsedAt         *time.Time
	CreatedBy          string
	Username           string
	UserRole           string
	UserDisabled       bool
}

// VerifyKey implements auth.KeyVerifier. The secret's SHA-256 finds the key
// (as its current secret, or the one a rotation keeps in grace); the key
// must not be revoked nor expired, and the user who created it must exist
// and be enabled, so disabling a user ends its keys. What it reads is
// trusted for CheckTTL: a busy client costs at most one database round trip
// per CheckTTL (and one write of last_used_at a minute).
//
// The identity is the key's: principal "key:<id>", its tenant, project and
// own rate limit and tokens-per-minute limit, and its role, lowered to its creator's current role when
// the creator has since lost permissions the key has.
func (s *Service) VerifyKey(ctx context.Context, secret string) (auth.Identity, error) {
	now := s.now()
	hash := Hash(secret)
	k, found, err := s.lookup(ctx, hash, now)
	if err != nil {
		return auth.Identity{}, err
	}
	if !found {
		return auth.Identity{}, unauthorized()
	}
	switch {
	case k.RevokedAt != nil, k.UserDisabled,
		k.ExpiresAt != nil && !now.Before(*k.ExpiresAt),
		hash != k.SecretHash && (k.PreviousExpiresAt == nil || !now.Before(*k.PreviousExpiresAt)):
		return auth.Identity{}, unauthorized()
	}
	role := auth.Role(k.Role)
	if creator := auth.Role(k.UserRole); !creator.Includes(role) {
		role = creator
	}
	id := auth.Identity{
		PrincipalID: auth.KeyPrincipal(k.ID), UserID: k.CreatedBy, Username: k.Username, Role: role,
		KeyID: k.ID,
	}
	if k.TenantID != nil {
		id.TenantID = *k.TenantID
	}
	if id.TenantID == "" && role != auth.RoleAdmin {
		return auth.Identity{}, unauthorized() // only an admin may be a platform principal
	}
	if k.ProjectID != nil {
		id.ProjectID = *k.ProjectID
	}
	if k.RateLimit != nil {
		if r, err := ParseRate(*k.RateLimit); err == nil {
			id.KeyRate = r
		}
	}
	if k.TokensPerMinute != nil {
		id.KeyTokensPerMinute = *k.TokensPerMinute
	}
	if k.ExpiresAt != nil {
		id.ExpiresAt = *k.ExpiresAt
	}
	s.touch(ctx, k, now)
	return id, nil
}

func unauthorized() error {
	return errs.New(errs.CodeUnauthorized, "the API key is invalid, expired or revoked")
}

// lookup reads the key of hash, or takes it from the cache when it was read
// less than CheckTTL ago. Unknown hashes are remembered too, so guessing
// keys costs the database no more than one read per guess and second.
func (s *Service) lookup(ctx context.Context, hash string, now time.Time) (stored, bool, error) {
	if k, found, ok := s.cache.get(hash, now); ok {
		return k, found, nil
	}
	gen := s.cache.generation()
	var rows []stored
	err := s.db.WithContext(ctx).Raw(`SELECT k.id, k.tenant_id, k.role, k.project_id, k.rate_limit, k.tokens_per_minute, k.secret_hash,
		k.previous_secret_hash, k.previous_expires_at, k.expires_at, k.revoked_at, k.last_used_at, k.created_by,
		u.username, u.role AS user_role, u.disabled AS user_disabled
		FROM api_keys k JOIN users u ON u.id = k.created_by
		WHERE k.secret_hash = ? OR k.previous_secret_hash = ?`, hash, hash).Scan(&rows).Error
	if err != nil {
		return stored{}, false, errs.Wrap(errs.CodeUnavailable, "the API key cannot be checked right now; try again shortly", fmt.Errorf("apikeys: verify: %w", err))
	}
	if len(rows) == 0 {
		s.cache.put(hash, stored{}, false, now, gen)
		return stored{}, false, nil
	}
	k := rows[0]
	s.cache.put(hash, k, true, now, gen)
	return k, true, nil
}

// touch writes last_used_at when it is a minute old or more: the process
// remembers its last write, and the UPDATE's condition skips the write that
// another replica made within the minute.
func (s *Service) touch(ctx context.Context, k stored, now time.Time) {
	every := s.opts.LastUsedEvery
	if k.LastUsedAt != nil && now.Sub(*k.LastUsedAt) < every {
		return
	}
	if !s.cache.dueTouch(k.ID, now, every) {
		return
	}
	err := s.db.WithContext(ctx).Exec(`UPDATE api_keys SET last_used_at = ?
		WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`, now, k.ID, now.Add(-every)).Error
	if err != nil {
		s.opts.Log.WarnContext(ctx, "writing an API key's last_used_at failed", slog.String("key_id", k.ID), slog.Any("error", err))
	}
}

// keyCache remembers what verification read, by secret hash, for ttl.
type keyCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	items   map[string]cachedKey
	touched map[string]time.Time
	// gen changes on every forget, so that a read that started before a
	// revocation on this replica cannot put the key back.
	gen uint64
}

type cachedKey struct {
	key     stored
	found   bool
	fetched time.Time
}

// maxCached bounds each map; a full one is emptied and refills.
const maxCached = 10000

func newKeyCache(ttl time.Duration) *keyCache {
	return &keyCache{ttl: ttl, items: map[string]cachedKey{}, touched: map[string]time.Time{}}
}

func (c *keyCache) get(hash string, now time.Time) (stored, bool, bool) {
	if c.ttl <= 0 {
		return stored{}, false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.items[hash]
	if !ok || now.Sub(it.fetched) >= c.ttl || now.Before(it.fetched) {
		return stored{}, false, false
	}
	return it.key, it.found, true
}

func (c *keyCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *keyCache) put(hash string, k stored, found bool, now time.Time, gen uint64) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.items) >= maxCached {
		clear(c.items)
	}
	c.items[hash] = cachedKey{key: k, found: found, fetched: now}
}

// forget drops every cached read of key id (after a change made here).
func (c *keyCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for hash, it := range c.items {
		if it.found && it.key.ID == id {
			delete(c.items, hash)
		}
	}
}

// dueTouch reports whether this process should write last_used_at of id
// now, and if so records that it does.
func (c *keyCache) dueTouch(id string, now time.Time, every time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if last, ok := c.touched[id]; ok && now.Sub(last) < every {
		return false
	}
	if len(c.touched) >= maxCached {
		clear(c.touched)
	}
	c.touched[id] = now
	return true
}
