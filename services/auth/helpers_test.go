package auth_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/internal/dbtest"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/platform/kv"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/auth"
)

// clock is a settable time source shared by every part of a fixture.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// redisStore returns a Redis store under a fresh prefix, or nil without
// TEST_REDIS_URL.
func redisStore(t testing.TB) kv.Store {
	t.Helper()
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		return nil
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	return kv.NewRedis(client, "test:auth:"+randomHex(5)+":", time.Second)
}

// fixture is an auth service on a fresh database with a fake clock.
type fixture struct {
	db     *gorm.DB
	clock  *clock
	store  kv.Store
	users  *auth.Users
	tokens *auth.Tokens
	keys   *auth.KeySet
	svc    *auth.Service
	reg    *prometheus.Registry
	dir    string
	opts   fixtureOpts
}

// replica is another auth service on the fixture's database, keys and store,
// as a second replica of the service would be.
func (f *fixture) replica(t testing.TB) *auth.Service {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := f.reg
	if f.svc != nil {
		reg = prometheus.NewRegistry() // a replica has metrics of its own
	}
	svc, err := auth.New(f.users, f.tokens, f.store, audit.New(f.db), log, reg, auth.Options{
		MaxAttempts: f.opts.maxAttempts, LockoutTTL: f.opts.lockoutTTL, FailOpen: !f.opts.failClosed,
		UserCacheTTL: 5 * time.Second, TokenCacheTTL: time.Second, Now: f.clock.now, DefaultTenant: "default",
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

type fixtureOpts struct {
	secret      string // HS256 when set, otherwise RS256 keys in a temp dir
	store       kv.Store
	failClosed  bool
	maxAttempts int
	lockoutTTL  time.Duration
	ttl         time.Duration
}

func newFixture(t testing.TB, o fixtureOpts) *fixture {
	t.Helper()
	f := &fixture{db: dbtest.New(t).DB, clock: newClock(), reg: prometheus.NewRegistry(), dir: t.TempDir()}
	f.store = o.store
	if f.store == nil {
		f.store = kv.NewMemory(f.clock.now)
	}
	if o.maxAttempts == 0 {
		o.maxAttempts = 5
	}
	if o.lockoutTTL == 0 {
		o.lockoutTTL = 15 * time.Minute
	}
	if o.ttl == 0 {
		o.ttl = time.Hour
	}
	f.users = auth.NewUsers(f.db, 4, f.clock.now)
	topts := auth.TokenOptions{Issuer: "test-iss", Audience: "test-aud", TTL: o.ttl, Now: f.clock.now}
	if o.secret != "" {
		topts.Secret = []byte(o.secret)
	} else {
		keys, err := auth.OpenKeySet(auth.KeySetOptions{Dir: f.dir, Retention: o.ttl, MinReload: time.Second, Now: f.clock.now}, true)
		if err != nil {
			t.Fatal(err)
		}
		f.keys, topts.Keys = keys, keys
	}
	tokens, err := auth.NewTokens(topts)
	if err != nil {
		t.Fatal(err)
	}
	f.tokens = tokens
	f.opts = o
	f.svc = f.replica(t)
	createTenants(t, f.db, "default", "acme")
	if _, err := f.users.SeedDemo(context.Background(), "default"); err != nil {
		t.Fatal(err)
	}
	return f
}

// createTenants stores tenant rows (services/tenants owns them; the accounts
// here only need them to exist).
func createTenants(t testing.TB, db *gorm.DB, ids ...string) {
	t.Helper()
	for _, id := range ids {
		now := time.Now().UTC()
		if err := db.Create(&models.Tenant{ID: id, Name: id, CreatedAt: now, UpdatedAt: now}).Error; err != nil {
			t.Fatalf("create tenant %s: %v", id, err)
		}
	}
}

// user reads an account as the service shows it.
func (f *fixture) user(t testing.TB, username string) auth.User {
	t.Helper()
	var id string
	if err := f.db.Table("users").Select("id").Where("username = ?", username).Row().Scan(&id); err != nil {
		t.Fatalf("find user %s: %v", username, err)
	}
	u, err := f.users.ByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func actor(ip string) audit.Actor { return audit.Actor{ClientIP: ip, RequestID: "req-" + ip} }
