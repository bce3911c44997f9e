package database_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"

	"github.com/golden-architecture/control-plane/internal/dbtest"
	"github.com/golden-architecture/control-plane/platform/database"
)

// TestMinConnsAreOpen: DB_MIN_CONNS connections are open and idle as soon as
// the database is opened, and Warm reopens them after they were closed.
func TestMinConnsAreOpen(t *testing.T) {
	db, sqlDB := openPool(t, 4, 8)
	ctx := context.Background()
	if s := sqlDB.Stats(); s.OpenConnections != 4 || s.Idle != 4 {
		t.Fatalf("after Open: %d open, %d idle; want 4 and 4", s.OpenConnections, s.Idle)
	}
	// The pool drops its idle connections (as after a network failure).
	sqlDB.SetMaxIdleConns(0)
	sqlDB.SetMaxIdleConns(4)
	if s := sqlDB.Stats(); s.OpenConnections != 0 {
		t.Fatalf("after dropping the idle connections: %d open, want 0", s.OpenConnections)
	}
	if err := db.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	if s := sqlDB.Stats(); s.OpenConnections != 4 || s.Idle != 4 {
		t.Fatalf("after Warm: %d open, %d idle; want 4 and 4", s.OpenConnections, s.Idle)
	}
}

// TestBurstsReuseConnections: a burst that uses the whole pool leaves its
// connections idle for the next one instead of closing all but
// DB_MIN_CONNS of them (which made every later burst reconnect).
func TestBurstsReuseConnections(t *testing.T) {
	_, sqlDB := openPool(t, 2, 8)
	ctx := context.Background()
	burst := func() {
		conns := make([]*sql.Conn, 8)
		for i := range conns {
			var err error
			if conns[i], err = sqlDB.Conn(ctx); err != nil {
				t.Fatal(err)
			}
			if err := conns[i].PingContext(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range conns {
			_ = c.Close()
		}
	}
	burst()
	burst()
	s := sqlDB.Stats()
	if s.OpenConnections != 8 || s.Idle != 8 || s.MaxIdleClosed != 0 {
		t.Fatalf("after two bursts of 8: %d open, %d idle, %d closed as over the idle cap; want 8, 8, 0",
			s.OpenConnections, s.Idle, s.MaxIdleClosed)
	}
}

// openPool opens a fresh PostgreSQL database of the test's with the pool
// bounds given; the pool bounds apply to PostgreSQL only.
func openPool(t *testing.T, minConns, maxConns int) (*database.DB, *sql.DB) {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Skip("the pool bounds apply to PostgreSQL: set TEST_DATABASE_URL")
	}
	url := dbtest.CreateDatabase(t, base, "t_pool_"+randomSuffix(t))
	db, err := database.Open(context.Background(), database.Options{URL: url, MinConns: minConns, MaxConns: maxConns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	sqlDB, err := db.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	return db, sqlDB
}

func randomSuffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
