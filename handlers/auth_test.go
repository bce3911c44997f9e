package handlers_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/golden-architecture/control-plane/app"
	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/auth"
)

// loginBody is the answer of POST /auth/login.
type loginBody struct {
	Token       string    `json:"token"`
	TokenType   string    `json:"token_type"`
	ExpiresAt   time.Time `json:"expires_at"`
	Role        string    `json:"role"`
	Permissions []string  `json:"permissions"`
}

func authLogin(t *testing.T, srv *testenv.Server, username, password string) *testenv.Response {
	t.Helper()
	return srv.Post(t, "/api/v1/auth/login", "", map[string]string{"username": username, "password": password})
}

func permNames(ps []auth.Permission) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, string(p))
	}
	return out
}

func TestLoginAnswers(t *testing.T) {
	srv := testenv.Quick(t, "JWT_TTL", "30m")
	for _, role := range []string{"admin", "operator", "developer", "observer"} {
		t.Run(role, func(t *testing.T) {
			before := time.Now()
			r := authLogin(t, srv, role, testenv.DemoPasswords[role]).WantStatus(t, http.StatusOK)
			var b loginBody
			r.JSON(t, &b)
			if b.Token == "" || b.TokenType != "Bearer" || b.Role != role {
				t.Errorf("body %s: want a Bearer token of role %s", r.Body, role)
			}
			if diff := cmp.Diff(permNames(auth.PermissionsOf(auth.Role(role))), b.Permissions); diff != "" {
				t.Errorf("permissions (-want +got):\n%s", diff)
			}
			if d := b.ExpiresAt.Sub(before); d < 29*time.Minute || d > 31*time.Minute {
				t.Errorf("expires_at %s is %s away, want about JWT_TTL=30m", b.ExpiresAt, d)
			}
			me := srv.Get(t, "/api/v1/auth/me", b.Token).WantStatus(t, http.StatusOK).Map(t)
			if me["username"] != role || me["role"] != role {
				t.Errorf("/auth/me = %v", me)
			}
			if k, ok := me["key_id"]; ok {
				t.Errorf("/auth/me of a user's token has key_id %v, want none", k)
			}
		})
	}
}

func TestLoginFailuresLookAlike(t *testing.T) {
	srv := testenv.Quick(t)
	srv.App.DB().Model(&models.User{}).Where("username = ?", "observer").Update("disabled", true)
	cases := map[string][2]string{
		"wrong password": {"admin", "wrong-password"},
		"unknown user":   {"nobody-here", "wrong-password"},
		"disabled user":  {"observer", "obs123"},
	}
	var first *testenv.ErrorBody
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e := authLogin(t, srv, c[0], c[1]).WantError(t, http.StatusUnauthorized, "auth.invalid_credentials")
			e.RequestID = ""
			if first == nil {
				first = &e
				return
			}
			if diff := cmp.Diff(*first, e); diff != "" {
				t.Errorf("bodies differ (-first +this):\n%s", diff)
			}
		})
	}
}

func TestLoginValidation(t *testing.T) {
	srv := testenv.Quick(t)
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{name: "73-byte password", body: map[string]string{"username": "admin", "password": strings.Repeat("p", 73)}, status: 422, code: "validation.unprocessable_entity", field: "password"},
		{name: "missing password", body: map[string]string{"username": "admin"}, status: 422, code: "validation.unprocessable_entity", field: "password"},
		{name: "missing username", body: map[string]string{"password": "x"}, status: 422, code: "validation.unprocessable_entity", field: "username"},
		{name: "wrong type", body: `{"username": 5, "password": "x"}`, status: 422, code: "validation.unprocessable_entity", field: "username"},
		{name: "malformed JSON", body: `{"username": `, status: 400, code: "validation.invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := srv.Post(t, "/api/v1/auth/login", "", tt.body).WantError(t, tt.status, tt.code)
			if tt.field != "" && !strings.Contains(string(authJSON(t, e.Details)), `"field":"`+tt.field+`"`) {
				t.Errorf("details %v do not name %s", e.Details, tt.field)
			}
		})
	}
	var n int64
	srv.App.DB().Model(&models.AuditEntry{}).Where("action LIKE ?", "auth.login.%").Count(&n)
	if n != 0 {
		t.Errorf("%d login audit entries for requests refused before checking credentials", n)
	}
}

func TestLoginLockout(t *testing.T) {
	srv := testenv.Quick(t, "LOGIN_MAX_ATTEMPTS", "3", "LOGIN_LOCKOUT_TTL_SECONDS", "120")
	for i := range 3 {
		authLogin(t, srv, "operator", "wrong").WantError(t, http.StatusUnauthorized, "auth.invalid_credentials")
		_ = i
	}
	r := authLogin(t, srv, "OPERATOR", "operator123")
	e := r.WantError(t, http.StatusTooManyRequests, "rate_limit.exceeded")
	wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || wait < 1 || wait > 120 {
		t.Errorf("Retry-After = %q, want seconds in [1, 120]", r.Header.Get("Retry-After"))
	}
	if got, _ := e.Details["retry_after_seconds"].(float64); int(got) != wait {
		t.Errorf("details.retry_after_seconds = %v, Retry-After %d", e.Details["retry_after_seconds"], wait)
	}
	authLogin(t, srv, "admin", "admin123").WantStatus(t, http.StatusOK)

	metrics := string(srv.Get(t, "/metrics", "").WantStatus(t, http.StatusOK).Body)
	for _, want := range []string{`auth_logins_total{result="fail"} 4`, `auth_logins_total{result="success"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	var locked int64
	srv.App.DB().Model(&models.AuditEntry{}).Where("action = ?", "auth.login.locked").Count(&locked)
	if locked != 1 {
		t.Errorf("auth.login.locked entries = %d, want 1", locked)
	}
}

func TestLockoutSharedByReplicas(t *testing.T) {
	if _, redis, _ := testenv.External(); !redis {
		t.Skip("needs TEST_REDIS_URL: without Redis each replica keeps its own in-memory lockout counter")
	}
	env := testenv.New(t, "LOGIN_MAX_ATTEMPTS", "4")
	a, b := env.Start(t), env.Start(t)
	for i, srv := range []*testenv.Server{a, b, a, b} {
		authLogin(t, srv, "developer", "wrong").WantError(t, http.StatusUnauthorized, "auth.invalid_credentials")
		_ = i
	}
	for name, srv := range map[string]*testenv.Server{"a": a, "b": b} {
		r := authLogin(t, srv, "developer", "dev123")
		r.WantError(t, http.StatusTooManyRequests, "rate_limit.exceeded")
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("replica %s: 429 without Retry-After", name)
		}
	}
}

func TestLogout(t *testing.T) {
	srv := testenv.Quick(t)
	tok := srv.Token(t, "developer")
	other := srv.Token(t, "developer")
	srv.Get(t, "/api/v1/auth/me", tok).WantStatus(t, http.StatusOK)
	srv.Post(t, "/api/v1/auth/logout", tok, nil).WantStatus(t, http.StatusOK)
	srv.Get(t, "/api/v1/auth/me", tok).WantError(t, http.StatusUnauthorized, "auth.unauthorized")
	srv.Post(t, "/api/v1/auth/logout", tok, nil).WantError(t, http.StatusUnauthorized, "auth.unauthorized")
	srv.Get(t, "/api/v1/auth/me", other).WantStatus(t, http.StatusOK)
	var n int64
	srv.App.DB().Model(&models.AuditEntry{}).Where("action = ?", "auth.logout").Count(&n)
	if n != 1 {
		t.Errorf("auth.logout entries = %d, want 1", n)
	}
}

// rsaServer starts a server signing with RS256 from a key directory it is
// given (in both test modes: production refuses to generate keys).
func rsaAuthServer(t *testing.T, kv ...string) (*testenv.Server, *testenv.Env, string) {
	t.Helper()
	dir := t.TempDir()
	if _, err := auth.GenerateKey(dir, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	env := testenv.New(t, append([]string{"JWT_SECRET", "", "JWT_KEYS_DIR", dir}, kv...)...)
	return env.Start(t), env, dir
}

// currentKey reads the newest private key of dir and its kid.
func currentSigningKey(t *testing.T, dir string) (*rsa.PrivateKey, string) {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(dir, "*.pem"))
	if len(matches) == 0 {
		t.Fatal("no key")
	}
	path := matches[len(matches)-1]
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey), strings.TrimSuffix(filepath.Base(path), ".pem")
}

// claimsFor returns valid claims for the user behind token, to be spoiled.
func claimsFor(t *testing.T, srv *testenv.Server, token string) jwt.MapClaims {
	t.Helper()
	me := srv.Get(t, "/api/v1/auth/me", token).WantStatus(t, http.StatusOK).Map(t)
	now := time.Now()
	return jwt.MapClaims{
		"sub": me["user_id"], "username": me["username"], "role": me["role"],
		"iss": srv.Config.JWTIssuer, "aud": []string{srv.Config.JWTAudience},
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": uuid.NewString(),
	}
}

func claimsWith(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func signToken(t *testing.T, method jwt.SigningMethod, c jwt.MapClaims, kid string, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signTokenCrit signs a token with a "crit" header naming an extension
// (RFC 7515 §4.1.11) that a verifier must understand or refuse.
func signTokenCrit(t *testing.T, method jwt.SigningMethod, c jwt.MapClaims, kid string, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	tok.Header["crit"] = []string{"exp-policy"}
	tok.Header["exp-policy"] = "ignore"
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// flipSignature changes one character in the middle of the signature.
func flipSignature(token string) string {
	i := strings.LastIndex(token, ".") + 10
	b := []byte(token)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func tamperPayload(t *testing.T, token, from, to string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := jwt.NewParser().DecodeSegment(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), from, to, 1)))
	return strings.Join(parts, ".")
}

func TestTokenAttacksRS256(t *testing.T) {
	srv, _, dir := rsaAuthServer(t)
	key, kid := currentSigningKey(t, dir)
	observer := srv.Token(t, "observer")
	good := claimsFor(t, srv, observer)
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	pubDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	past, future := time.Now().Add(-time.Hour).Unix(), time.Now().Add(time.Hour).Unix()

	if tok := signToken(t, jwt.SigningMethodRS256, good, kid, key); srv.Get(t, "/api/v1/auth/me", tok).Status != http.StatusOK {
		t.Fatal("control: a correctly crafted token is refused, so the attacks below prove nothing")
	}
	attacks := map[string]string{
		"alg none":                        signToken(t, jwt.SigningMethodNone, good, kid, jwt.UnsafeAllowNoneSignatureType),
		"HS256 keyed with the public PEM": signToken(t, jwt.SigningMethodHS256, good, kid, pubPEM),
		"unknown kid":                     signToken(t, jwt.SigningMethodRS256, good, "no-such-kid", stranger),
		"known kid, foreign key":          signToken(t, jwt.SigningMethodRS256, good, kid, stranger),
		"no kid":                          signToken(t, jwt.SigningMethodRS256, good, "", key),
		"RS512 with the right key":        signToken(t, jwt.SigningMethodRS512, good, kid, key),
		"wrong iss":                       signToken(t, jwt.SigningMethodRS256, claimsWith(good, "iss", "evil"), kid, key),
		"wrong aud":                       signToken(t, jwt.SigningMethodRS256, claimsWith(good, "aud", []string{"other-api"}), kid, key),
		"expired":                         signToken(t, jwt.SigningMethodRS256, claimsWith(good, "exp", past, "iat", past-60, "nbf", past-60), kid, key),
		"not yet valid":                   signToken(t, jwt.SigningMethodRS256, claimsWith(good, "nbf", future), kid, key),
		"issued in the future":            signToken(t, jwt.SigningMethodRS256, claimsWith(good, "iat", future), kid, key),
		"no exp":                          signToken(t, jwt.SigningMethodRS256, claimsWith(good, "exp", nil), kid, key),
		"no jti":                          signToken(t, jwt.SigningMethodRS256, claimsWith(good, "jti", nil), kid, key),
		"unknown subject":                 signToken(t, jwt.SigningMethodRS256, claimsWith(good, "sub", uuid.NewString()), kid, key),
		"a lifetime beyond JWT_TTL":       signToken(t, jwt.SigningMethodRS256, claimsWith(good, "exp", time.Now().Add(srv.Config.JWTTTL+time.Hour).Unix()), kid, key),
		"a crit header":                   signTokenCrit(t, jwt.SigningMethodRS256, good, kid, key),
		"a NUL byte in sub":               signToken(t, jwt.SigningMethodRS256, claimsWith(good, "sub", "a\x00b"), kid, key),
		"invalid UTF-8 in sub":            signToken(t, jwt.SigningMethodRS256, claimsWith(good, "sub", "a\xffb"), kid, key),
		"sub not a user id":               signToken(t, jwt.SigningMethodRS256, claimsWith(good, "sub", "admin"), kid, key),
		"a NUL byte in jti":               signToken(t, jwt.SigningMethodRS256, claimsWith(good, "jti", "a\x00b"), kid, key),
		"flipped signature byte":          flipSignature(observer),
		"payload tampered to admin":       tamperPayload(t, observer, `"role":"observer"`, `"role":"admin"`),
		"garbage":                         "not.a.jwt",
	}
	for name, tok := range attacks {
		t.Run(name, func(t *testing.T) {
			srv.Get(t, "/api/v1/auth/me", tok).WantError(t, http.StatusUnauthorized, "auth.unauthorized")
		})
	}
}

func TestTokenAttacksHS256(t *testing.T) {
	secret := "an-hs256-secret-of-at-least-32-bytes!!"
	srv := testenv.Quick(t, "JWT_SECRET", secret)
	observer := srv.Token(t, "observer")
	good := claimsFor(t, srv, observer)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	past, future := time.Now().Add(-time.Hour).Unix(), time.Now().Add(time.Hour).Unix()
	if tok := signToken(t, jwt.SigningMethodHS256, good, "", []byte(secret)); srv.Get(t, "/api/v1/auth/me", tok).Status != http.StatusOK {
		t.Fatal("control: a correctly crafted token is refused")
	}
	attacks := map[string]string{
		"alg none":      signToken(t, jwt.SigningMethodNone, good, "", jwt.UnsafeAllowNoneSignatureType),
		"RS256 instead": signToken(t, jwt.SigningMethodRS256, good, "", rsaKey),
		"HS512":         signToken(t, jwt.SigningMethodHS512, good, "", []byte(secret)),
		"wrong secret":  signToken(t, jwt.SigningMethodHS256, good, "", []byte(strings.Repeat("x", 40))),
		"wrong iss":     signToken(t, jwt.SigningMethodHS256, claimsWith(good, "iss", "evil"), "", []byte(secret)),
		"wrong aud":     signToken(t, jwt.SigningMethodHS256, claimsWith(good, "aud", "other"), "", []byte(secret)),
		"expired":       signToken(t, jwt.SigningMethodHS256, claimsWith(good, "exp", past), "", []byte(secret)),
		"not yet valid": signToken(t, jwt.SigningMethodHS256, claimsWith(good, "nbf", future), "", []byte(secret)),
		"a lifetime beyond JWT_TTL": signToken(t, jwt.SigningMethodHS256,
			claimsWith(good, "exp", time.Now().Add(srv.Config.JWTTTL+time.Hour).Unix()), "", []byte(secret)),
		"a crit header":     signTokenCrit(t, jwt.SigningMethodHS256, good, "", []byte(secret)),
		"a NUL byte in sub": signToken(t, jwt.SigningMethodHS256, claimsWith(good, "sub", "a\x00b"), "", []byte(secret)),
		"sub not a user id": signToken(t, jwt.SigningMethodHS256, claimsWith(good, "sub", "' OR 1=1 --"), "", []byte(secret)),
		"flipped byte":      flipSignature(observer),
		"tampered role":     tamperPayload(t, observer, `"role":"observer"`, `"role":"admin"`),
		"empty bearer":      " ",
		"two-part token":    "abc.def",
	}
	for name, tok := range attacks {
		t.Run(name, func(t *testing.T) {
			r := srv.Send(t, testenv.Request{Method: http.MethodGet, Path: "/api/v1/auth/me",
				Header: map[string]string{"Authorization": "Bearer " + tok}})
			r.WantError(t, http.StatusUnauthorized, "auth.unauthorized")
		})
	}
	jwks := srv.Get(t, "/.well-known/jwks.json", "").WantStatus(t, http.StatusOK)
	if got := strings.TrimSpace(string(jwks.Body)); got != `{"keys":[]}` {
		t.Errorf("JWKS with HS256 = %s, want {\"keys\":[]}", got)
	}
}

func TestJWKSVerifiesTokensWithGoJose(t *testing.T) {
	srv, env, dir := rsaAuthServer(t)
	oldToken := srv.Token(t, "admin")
	check := func(t *testing.T, srv *testenv.Server, tokens ...string) {
		t.Helper()
		r := srv.Get(t, "/.well-known/jwks.json", "").WantStatus(t, http.StatusOK)
		if got := r.Header.Get("Cache-Control"); got != "public, max-age=300" {
			t.Errorf("Cache-Control = %q", got)
		}
		var set jose.JSONWebKeySet
		r.JSON(t, &set)
		for _, k := range set.Keys {
			if _, ok := k.Key.(*rsa.PublicKey); !ok || k.Use != "sig" || k.Algorithm != "RS256" || !k.Valid() || !k.IsPublic() {
				t.Errorf("JWK %s: %T use %q alg %q", k.KeyID, k.Key, k.Use, k.Algorithm)
			}
		}
		for _, tok := range tokens {
			jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatal(err)
			}
			kid := jws.Signatures[0].Header.KeyID
			keys := set.Key(kid)
			if len(keys) != 1 {
				t.Fatalf("JWKS has %d keys with kid %q", len(keys), kid)
			}
			if _, err := jws.Verify(keys[0]); err != nil {
				t.Errorf("go-jose: token with kid %s does not verify against the JWKS: %v", kid, err)
			}
			if _, err := jws.Verify(&set.Keys[0]); len(set.Keys) > 1 && keys[0].KeyID != set.Keys[0].KeyID && err == nil {
				t.Errorf("token verifies with another key")
			}
		}
	}
	check(t, srv, oldToken)

	// Rotate while srv runs; a second replica starts and signs with the new
	// key. Both keys are published and both tokens verify everywhere.
	newKid, err := auth.GenerateKey(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	second := env.Start(t)
	newToken := second.Token(t, "admin")
	if got := kidHeader(t, newToken); got != newKid {
		t.Fatalf("new replica signs with kid %s, want %s", got, newKid)
	}
	testenv.Wait(t, 5*time.Second, "the running server to load the rotated key", func() bool {
		return srv.Get(t, "/api/v1/auth/me", newToken).Status == http.StatusOK
	})
	second.Get(t, "/api/v1/auth/me", oldToken).WantStatus(t, http.StatusOK)
	srv.Get(t, "/api/v1/auth/me", oldToken).WantStatus(t, http.StatusOK)
	check(t, second, oldToken, newToken)
	check(t, srv, oldToken, newToken)
}

func kidHeader(t *testing.T, token string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}

func TestProductionRefusesEmptyKeyDir(t *testing.T) {
	if db, _, _ := testenv.External(); !db {
		t.Skip("production mode needs TEST_DATABASE_URL")
	}
	env := testenv.New(t, "JWT_SECRET", "", "JWT_KEYS_DIR", t.TempDir())
	cfg := env.Config(t)
	if _, err := startApp(t, cfg); err == nil || !strings.Contains(err.Error(), "holds no RSA private key") {
		t.Errorf("start with an empty JWT_KEYS_DIR in production: %v, want a refusal", err)
	}
}

func authJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startApp builds an app from cfg and closes it again; it returns the error
// of the start.
func startApp(t *testing.T, cfg config.Config) (*app.App, error) {
	t.Helper()
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.BuildInfo{})
	if err == nil {
		a.Close()
	}
	return a, err
}

func TestRedisDownFailMode(t *testing.T) {
	dead := []string{"REDIS_URL", "redis://127.0.0.1:1/0", "REDIS_CALL_TIMEOUT", "100ms"}
	t.Run("open", func(t *testing.T) {
		srv := testenv.Quick(t, append(dead, "RATE_LIMIT_FAIL_MODE", "open")...)
		tok := srv.Token(t, "admin") // the lockout counter is down: allowed
		srv.Get(t, "/api/v1/auth/me", tok).WantStatus(t, http.StatusOK)
		// A logout that cannot be stored must not pretend to have worked.
		srv.Post(t, "/api/v1/auth/logout", tok, nil).WantError(t, http.StatusServiceUnavailable, "service.unavailable")
	})
	t.Run("closed", func(t *testing.T) {
		srv := testenv.Quick(t, append(dead, "RATE_LIMIT_FAIL_MODE", "closed")...)
		authLogin(t, srv, "admin", "admin123").WantError(t, http.StatusServiceUnavailable, "service.unavailable")
	})
}
