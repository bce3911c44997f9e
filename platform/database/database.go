// Package database opens the one GORM handle of the process: PostgreSQL when
// DATABASE_URL is set, otherwise an SQLite file in DATA_DIR (pure Go, no cgo).
package database

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names the database kind; the values are also the folder names of
// the migration files.
type Dialect string

// The supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Options says where the database is and how large its pool may grow.
type Options struct {
	URL        string // postgres://…; empty selects SQLite
	SQLitePath string // the SQLite file, used when URL is empty
	MinConns   int
	MaxConns   int
}

// DB is the opened database with its dialect.
type DB struct {
	*gorm.DB
	Dialect Dialect
	// Location is where the data lives, safe to log.
	Location string
}

// Open connects and checks the connection with a ping.
func Open(ctx context.Context, o Options) (*DB, error) {
	cfg := &gorm.Config{TranslateError: true, Logger: logger.Discard, NowFunc: func() time.Time { return time.Now().UTC() }}
	var (
		db      *gorm.DB
		err     error
		dialect Dialect
		where   string
	)
	if o.URL != "" {
		dialect, where = Postgres, "postgresql"
		db, err = gorm.Open(postgres.New(postgres.Config{DSN: o.URL}), cfg)
	} else {
		path := o.SQLitePath
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("create the directory of %s: %w", path, err)
		}
		dialect, where = SQLite, path
		db, err = gorm.Open(sqlite.Open(SQLiteDSN(path)), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("database handle: %w", err)
	}
	if dialect == SQLite {
		// One connection: SQLite has one writer, so writes queue here instead
		// of failing with "database is locked".
		sqlDB.SetMaxOpenConns(1)
	} else {
		sqlDB.SetMaxOpenConns(o.MaxConns)
		sqlDB.SetMaxIdleConns(max(o.MinConns, 1))
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("connect to %s database: %w", dialect, err)
	}
	return &DB{DB: db, Dialect: dialect, Location: where}, nil
}

// SQLiteDSN is the connection string of an SQLite file in WAL mode with a busy
// timeout and foreign keys on.
func SQLiteDSN(path string) string {
	return path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	sqlDB, err := d.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close closes the pool.
func (d *DB) Close() error {
	sqlDB, err := d.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}
