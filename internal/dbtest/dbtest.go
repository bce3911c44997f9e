// Package dbtest gives each test a migrated database of its own: an SQLite
// file in the test's temp dir by default, or a fresh PostgreSQL database
// created next to TEST_DATABASE_URL and dropped at cleanup. It opens through
// migrations.Open, as the server does, and imports nothing of the service
// above the migrations, so tests inside a service package can use it without
// an import cycle.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/golden-architecture/control-plane/migrations"
	"github.com/golden-architecture/control-plane/platform/database"
)

// New returns a migrated database of the test's own, closed at cleanup.
func New(t testing.TB) *database.DB {
	t.Helper()
	o := database.Options{SQLitePath: filepath.Join(t.TempDir(), "test.db"), MinConns: 1, MaxConns: 8}
	if base := os.Getenv("TEST_DATABASE_URL"); base != "" {
		o.URL = CreateDatabase(t, base, "t_"+randomID())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, _, err := migrations.Open(ctx, o, migrations.Apply)
	if err != nil {
		t.Fatalf("open the test database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// CreateDatabase creates a fresh PostgreSQL database next to the one base
// names and drops it at cleanup. It returns the new database's URL.
func CreateDatabase(t testing.TB, base, name string) string {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", base, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		_ = admin.Close()
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomID() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
