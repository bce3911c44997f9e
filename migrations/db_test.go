package migrations

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/golden-architecture/control-plane/platform/database"

	"github.com/glebarez/sqlite"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// backend is one database the suite runs against. newDatabase creates a fresh,
// empty database for one test and returns a function opening a new,
// independent *sql.DB handle to it (several handles stand for several
// replicas).
type backend struct {
	name        string
	dialect     database.Dialect
	newDatabase func(t *testing.T) (open func(t *testing.T) *sql.DB)
}

// backends are SQLite in its default (rollback journal) mode and as the
// service opens it (WAL), and PostgreSQL when TEST_DATABASE_URL is set.
func backends() []backend {
	bs := []backend{
		{name: "sqlite", dialect: database.SQLite, newDatabase: sqliteDatabase("")},
		// The query string the service opens its SQLite file with.
		{name: "sqlite-wal", dialect: database.SQLite, newDatabase: sqliteDatabase(database.SQLiteDSN(""))},
	}
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		bs = append(bs, backend{name: "postgres", dialect: database.Postgres, newDatabase: postgresDatabase(u)})
	}
	return bs
}

// eachBackend runs fn as a subtest per backend.
func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// sqliteDatabase opens the file the way the service does: through GORM's
// glebarez driver, handing the *sql.DB to the runner.
func sqliteDatabase(query string) func(t *testing.T) func(t *testing.T) *sql.DB {
	return func(t *testing.T) func(t *testing.T) *sql.DB {
		path := filepath.Join(t.TempDir(), "test.db")
		return func(t *testing.T) *sql.DB {
			t.Helper()
			gdb, err := gorm.Open(sqlite.Open(path+query), &gorm.Config{Logger: logger.Discard})
			if err != nil {
				t.Fatalf("open sqlite %s: %v", path, err)
			}
			db, err := gdb.DB()
			if err != nil {
				t.Fatalf("sqlite *sql.DB: %v", err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
	}
}

// postgresDatabase creates mig_<random> on the server of adminURL and drops it
// (forcibly, in case a handle is still open) when the test ends.
func postgresDatabase(adminURL string) func(t *testing.T) func(t *testing.T) *sql.DB {
	return func(t *testing.T) func(t *testing.T) *sql.DB {
		t.Helper()
		dsn := postgresURL(t, adminURL)
		return func(t *testing.T) *sql.DB {
			t.Helper()
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatalf("open %s: %v", dsn, err)
			}
			// Registered after the drop of postgresURL, so it runs before it.
			t.Cleanup(func() { db.Close() })
			return db
		}
	}
}

// postgresURL creates mig_<random> on the server of adminURL, drops it
// (forcibly, in case a handle is still open) when the test ends, and returns
// its URL.
func postgresURL(t *testing.T, adminURL string) string {
	t.Helper()
	admin, err := sql.Open("pgx", adminURL)
	if err != nil {
		t.Fatalf("open TEST_DATABASE_URL: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	name := "mig_" + randomHex(t, 8)
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatalf("parse TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random name: %v", err)
	}
	return hex.EncodeToString(b)
}

// tableExists asks the database's catalog whether a table exists.
func tableExists(t *testing.T, db *sql.DB, d database.Dialect, table string) bool {
	t.Helper()
	q := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1`
	if d == database.Postgres {
		q = `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1`
	}
	var n int
	if err := db.QueryRowContext(t.Context(), q, table).Scan(&n); err != nil {
		t.Fatalf("look for table %s: %v", table, err)
	}
	return n > 0
}

// versions returns the versions recorded in schema_migrations, in order.
func versions(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatalf("scan schema_migrations: %v", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return out
}
