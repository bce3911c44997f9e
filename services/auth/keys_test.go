package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/errs"
)

func kidOf(t *testing.T, token string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}

func jwksKids(k *auth.KeySet) []string {
	var out []string
	for _, key := range k.JWKS().Keys {
		out = append(out, key.Kid)
	}
	return out
}

func TestRotationOverlap(t *testing.T) {
	f := newFixture(t, fixtureOpts{ttl: time.Hour})
	ctx := context.Background()
	old, err := f.svc.Login(ctx, actor("10.4.4.4"), "admin", "admin123")
	if err != nil {
		t.Fatal(err)
	}
	oldKid := kidOf(t, old.Token)
	if got := jwksKids(f.keys); len(got) != 1 || got[0] != oldKid {
		t.Fatalf("JWKS kids = %v, want [%s]", got, oldKid)
	}

	f.clock.add(10 * time.Minute)
	newKid, err := auth.GenerateKey(f.dir, f.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.keys.Reload(); err != nil {
		t.Fatal(err)
	}
	fresh, err := f.svc.Login(ctx, actor("10.4.4.4"), "admin", "admin123")
	if err != nil {
		t.Fatal(err)
	}
	if got := kidOf(t, fresh.Token); got != newKid {
		t.Errorf("kid of a token issued after rotation = %s, want %s", got, newKid)
	}
	for name, tok := range map[string]string{"old": old.Token, "new": fresh.Token} {
		if _, err := f.svc.Verify(ctx, tok); err != nil {
			t.Errorf("%s token right after rotation: %v", name, err)
		}
	}
	if got := jwksKids(f.keys); len(got) != 2 || got[0] != oldKid || got[1] != newKid {
		t.Errorf("JWKS kids during the overlap = %v, want [%s %s]", got, oldKid, newKid)
	}
	info := f.keys.Keys()
	if !info[0].Retired.Equal(f.clock.now()) || !info[0].Until.Equal(f.clock.now().Add(time.Hour)) || !info[1].Retired.IsZero() {
		t.Errorf("key info %+v: want the old key retired now, verifying for one TTL", info)
	}

	// The old token expires 50 minutes after the rotation; its key stays one
	// full TTL after retirement, then leaves the set.
	f.clock.add(time.Hour)
	if err := f.keys.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := jwksKids(f.keys); len(got) != 1 || got[0] != newKid {
		t.Errorf("JWKS kids after the retention = %v, want [%s]", got, newKid)
	}
	if _, err := f.svc.Verify(ctx, old.Token); !errs.Is(err, errs.CodeUnauthorized) {
		t.Errorf("old token after its key left the set = %v, want 401", err)
	}
	later, err := f.svc.Login(ctx, actor("10.4.4.4"), "admin", "admin123")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Verify(ctx, later.Token); err != nil || kidOf(t, later.Token) != newKid {
		t.Errorf("token signed by the current key after the old one left: %v", err)
	}
}

func TestUnknownKidReloads(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	// Another process rotates; this one has not reloaded yet.
	f.clock.add(2 * time.Second)
	if _, err := auth.GenerateKey(f.dir, f.clock.now()); err != nil {
		t.Fatal(err)
	}
	other, err := auth.OpenKeySet(auth.KeySetOptions{Dir: f.dir, Retention: time.Hour, Now: f.clock.now}, false)
	if err != nil {
		t.Fatal(err)
	}
	otherTokens, _ := auth.NewTokens(auth.TokenOptions{Issuer: "test-iss", Audience: "test-aud", TTL: time.Hour, Keys: other, Now: f.clock.now})
	admin := f.user(t, "admin")
	issued, err := otherTokens.Issue(admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Verify(ctx, issued.Token); err != nil {
		t.Errorf("token with a kid added by another process: %v (want a reload on unknown kid)", err)
	}
}

func TestGenerateKeyConcurrentFirstStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	now := time.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := auth.OpenKeySet(auth.KeySetOptions{Dir: dir, Retention: time.Hour, Now: func() time.Time { return now }}, true); err != nil {
				t.Errorf("OpenKeySet: %v", err)
			}
		})
	}
	wg.Wait()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("no key written")
	}
	for _, e := range entries {
		info, _ := e.Info()
		if !strings.HasSuffix(e.Name(), ".pem") || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v; want only *.pem files with mode 0600", e.Name(), info.Mode().Perm())
		}
	}
	set, err := auth.OpenKeySet(auth.KeySetOptions{Dir: dir, Retention: time.Hour, Now: func() time.Time { return now }}, false)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if got := len(set.JWKS().Keys); got != len(entries) {
		t.Errorf("JWKS has %d keys, dir %d files", got, len(entries))
	}
}

func TestOpenKeySetRules(t *testing.T) {
	now := time.Now()
	write := func(t *testing.T, dir, name string, bits int, pkcs1 bool) {
		t.Helper()
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
		if !pkcs1 {
			der, _ := x509.MarshalPKCS8PrivateKey(k)
			block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
		}
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	open := func(dir string, generate bool) (*auth.KeySet, error) {
		return auth.OpenKeySet(auth.KeySetOptions{Dir: dir, Retention: time.Hour, Now: func() time.Time { return now }}, generate)
	}
	t.Run("production refuses an empty directory", func(t *testing.T) {
		if _, err := open(t.TempDir(), false); err == nil || !strings.Contains(err.Error(), "holds no RSA private key") {
			t.Errorf("err = %v, want a clear refusal", err)
		}
	})
	t.Run("operator-named PKCS#1 key is used", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "signing.pem", 2048, true)
		set, err := open(dir, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := jwksKids(set); len(got) != 1 || got[0] != "signing" {
			t.Errorf("kids = %v, want [signing]", got)
		}
	})
	t.Run("small keys are refused", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "weak.pem", 1024, false)
		if _, err := open(dir, false); err == nil {
			t.Error("a 1024-bit key was accepted")
		}
	})
	t.Run("not a key", func(t *testing.T) {
		dir := t.TempDir()
		_ = os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("hello"), 0o600)
		if _, err := open(dir, true); err == nil {
			t.Error("a junk .pem was accepted")
		}
	})
}
