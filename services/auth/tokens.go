package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/golden-architecture/control-plane/services/errs"
)

// Claims is the payload of an access token. sub is the user id (stable across
// renames); the username rides in its own "username" claim for display and
// audit. role is the role at issue time; verification uses the user's current
// role, so a role change applies to live tokens.
type Claims struct {
	jwt.RegisteredClaims
	Username string `json:"username"`
	Role     Role   `json:"role"`
	// IssuedAtMicros is iat in microseconds since the epoch. iat has whole
	// seconds only, so it cannot tell a token issued just before a password
	// change from the one issued just after it in the same second; this can.
	// Tokens of older releases lack it (0) and are judged by iat.
	IssuedAtMicros int64 `json:"iat_us,omitempty"`
}

// issuedBefore reports whether the token was issued before t (a password
// change, or an admin's change of the account), so that it no longer verifies.
func (c Claims) issuedBefore(t time.Time) bool {
	switch {
	case c.IssuedAt == nil:
		return true
	case c.IssuedAtMicros > 0:
		return time.UnixMicro(c.IssuedAtMicros).Before(t.Truncate(time.Microsecond))
	}
	return c.IssuedAt.Before(t.Truncate(time.Second))
}

// Issued is a freshly signed token.
type Issued struct {
	Token     string
	ID        string
	ExpiresAt time.Time
}

// Tokens signs and parses access tokens with exactly one algorithm: HS256
// with a shared secret, or RS256 with a KeySet.
type Tokens struct {
	issuer   string
	audience string
	ttl      time.Duration
	leeway   time.Duration
	secret   []byte
	keys     *KeySet
	now      func() time.Time
	parser   *jwt.Parser
}

// TokenOptions configures Tokens. Exactly one of Secret and Keys is set.
type TokenOptions struct {
	Issuer   string
	Audience string
	TTL      time.Duration
	Secret   []byte
	Keys     *KeySet
	// Leeway tolerates clock skew between replicas on exp, nbf and iat.
	Leeway time.Duration
	Now    func() time.Time
}

// NewTokens returns the token signer and parser.
func NewTokens(o TokenOptions) (*Tokens, error) {
	if (len(o.Secret) == 0) == (o.Keys == nil) {
		return nil, errors.New("tokens: configure exactly one of a secret (HS256) and a key set (RS256)")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	t := &Tokens{issuer: o.Issuer, audience: o.Audience, ttl: o.TTL, leeway: o.Leeway, secret: o.Secret, keys: o.Keys, now: o.Now}
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{t.Algorithm()}),
		jwt.WithIssuer(o.Issuer),
		jwt.WithAudience(o.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(o.Leeway),
		jwt.WithTimeFunc(o.Now),
	)
	return t, nil
}

// Algorithm is the one accepted "alg": HS256 or RS256.
func (t *Tokens) Algorithm() string {
	if t.keys != nil {
		return jwt.SigningMethodRS256.Alg()
	}
	return jwt.SigningMethodHS256.Alg()
}

// TTL is the lifetime of new tokens.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// Keys is the RS256 key set (nil with HS256).
func (t *Tokens) Keys() *KeySet { return t.keys }

// JWKS is the public key set; empty with HS256.
func (t *Tokens) JWKS() JWKSet {
	if t.keys == nil {
		return JWKSet{Keys: []JWK{}}
	}
	return t.keys.JWKS()
}

// Issue signs a token for u valid for the TTL from now.
func (t *Tokens) Issue(u User) (Issued, error) {
	precise := t.now().UTC()
	now := precise.Truncate(time.Second)
	exp := now.Add(t.ttl)
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   u.ID,
			Audience:  jwt.ClaimStrings{t.audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        uuid.NewString(),
		},
		Username:       u.Username,
		Role:           u.Role,
		IssuedAtMicros: precise.UnixMicro(),
	}
	var (
		signed string
		err    error
	)
	if t.keys == nil {
		signed, err = jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	} else {
		key, ok := t.keys.current()
		if !ok {
			return Issued{}, errors.New("tokens: the key set is empty")
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		tok.Header["kid"] = key.kid
		signed, err = tok.SignedString(key.priv)
	}
	if err != nil {
		return Issued{}, fmt.Errorf("sign token: %w", err)
	}
	return Issued{Token: signed, ID: c.ID, ExpiresAt: exp}, nil
}

// Parse checks signature, algorithm, kid, issuer, audience and the time
// claims, and returns the claims. Every failure is the same 401
// auth.unauthorized: a client learns nothing about which check failed.
//
// Beyond the library's checks: a token with a "crit" header is refused (RFC
// 7515 §4.1.11: no extension is understood here); its lifetime (exp − iat)
// may not exceed the TTL plus the leeway, so a leaked signing key or a
// misconfigured issuer cannot mint tokens that live for years; sub must be a
// user id (a canonical UUID) and jti a key-safe identifier, so no claim
// reaches the database or the revocation store with bytes they refuse.
func (t *Tokens) Parse(token string) (Claims, error) {
	var c Claims
	_, err := t.parser.ParseWithClaims(token, &c, t.key)
	if err != nil {
		return Claims{}, errs.Wrap(errs.CodeUnauthorized, "the bearer token is invalid, expired or revoked", err)
	}
	if err := t.checkClaims(c); err != nil {
		return Claims{}, errs.Wrap(errs.CodeUnauthorized, "the bearer token is invalid, expired or revoked", err)
	}
	return c, nil
}

// maxClaimID bounds the jti (ours are 36-character UUIDs).
const maxClaimID = 128

// checkClaims checks what the parser does not: the lifetime and the shape
// of sub and jti (iat and exp are present: the parser requires exp, and iat
// is checked here).
func (t *Tokens) checkClaims(c Claims) error {
	if c.IssuedAt == nil || c.ExpiresAt == nil {
		return errors.New("token has no iat")
	}
	if life := c.ExpiresAt.Sub(c.IssuedAt.Time); life > t.ttl+t.leeway {
		return fmt.Errorf("token lifetime %s exceeds the maximum %s", life, t.ttl+t.leeway)
	}
	if id, err := uuid.Parse(c.Subject); err != nil || id.String() != c.Subject {
		return errors.New("sub is not a user id")
	}
	if c.ID == "" || len(c.ID) > maxClaimID || !printableASCII(c.ID) {
		return errors.New("jti is empty, too long or not printable ASCII")
	}
	return nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// key is the jwt.Keyfunc: the secret, or the RSA key named by the kid header.
func (t *Tokens) key(tok *jwt.Token) (any, error) {
	if _, ok := tok.Header["crit"]; ok {
		return nil, errors.New("token has a crit header")
	}
	if t.keys == nil {
		return t.secret, nil
	}
	kid, _ := tok.Header["kid"].(string)
	if kid == "" {
		return nil, errors.New("token has no kid")
	}
	pub, ok := t.keys.public(kid)
	if !ok {
		return nil, fmt.Errorf("unknown kid %q", kid)
	}
	return pub, nil
}
