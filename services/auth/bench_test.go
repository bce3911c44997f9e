package auth_test

import (
	"context"
	"strings"
	"testing"
)

// benchmarkVerify measures what an authenticated request pays: parse is the
// signature and claims check a token pays once per TokenCacheTTL (with the
// revocation lookup); verify is every other request of that token, which
// finds it checked and reads the cached user.
func benchmarkVerify(b *testing.B, secret string) {
	f := newFixture(b, fixtureOpts{secret: secret})
	ctx := context.Background()
	s, err := f.svc.Login(ctx, actor("10.0.0.1"), "admin", "admin123")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.svc.Verify(ctx, s.Token); err != nil {
		b.Fatal(err)
	}
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.tokens.Parse(s.Token); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.svc.Verify(ctx, s.Token); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerifyHS256(b *testing.B) { benchmarkVerify(b, strings.Repeat("b", 48)) }

func BenchmarkVerifyRS256(b *testing.B) { benchmarkVerify(b, "") }
