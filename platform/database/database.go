// Package database opens the one GORM handle of the process: PostgreSQL when
// DATABASE_URL is set, otherwise an SQLite file in DATA_DIR (pure Go, no cgo).
package database

import (
	"context"
	"database/sql"
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

// idleTimeout is how long a PostgreSQL connection above the ones in use may
// stay idle before the pool closes it; Warm tops the pool up to DB_MIN_CONNS.
const idleTimeout = 5 * time.Minute

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

	minConns int
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
		// DB_MAX_CONNS bounds the pool, and every connection it opened may
		// wait idle for the next request: database/sql closes a returned
		// connection at once when MaxIdleConns are already idle, so an idle
		// cap below the pool's size made every burst above it reconnect
		// (a PostgreSQL backend per request: the gateway and the budget
		// ledger ran at a third of their speed). Connections idle for
		// idleTimeout close; DB_MIN_CONNS are opened now rather than by the
		// first requests, and Warm reopens them (see the app's worker).
		sqlDB.SetMaxOpenConns(o.MaxConns)
		sqlDB.SetMaxIdleConns(o.MaxConns)
		sqlDB.SetConnMaxIdleTime(idleTimeout)
		sqlDB.SetConnMaxLifetime(time.Hour)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("connect to %s database: %w", dialect, err)
	}
	d := &DB{DB: db, Dialect: dialect, Location: where, minConns: o.MinConns}
	if dialect == Postgres {
		if err := d.Warm(pingCtx); err != nil {
			_ = sqlDB.Close()
			return nil, fmt.Errorf("open %d connections (DB_MIN_CONNS) to %s database: %w", o.MinConns, dialect, err)
		}
	}
	return d, nil
}

// Warm opens connections until DB_MIN_CONNS are open, each checked with a
// ping, and leaves them idle in the pool. Open calls it; the app calls it
// again from time to time so that connections the server or a network
// device closed (or ConnMaxLifetime retired) are replaced before a request
// has to wait for one.
func (d *DB) Warm(ctx context.Context) error {
	sqlDB, err := d.DB.DB()
	if err != nil {
		return err
	}
	if sqlDB.Stats().OpenConnections >= d.minConns {
		return nil
	}
	// Holding DB_MIN_CONNS connections at once makes the pool open the
	// missing ones (it hands out the idle ones first).
	conns := make([]*sql.Conn, 0, d.minConns)
	defer func() {
		for _, c := range conns {
			_ = c.Close() // back to the pool, idle
		}
	}()
	for range d.minConns {
		c, err := sqlDB.Conn(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
		if err := c.PingContext(ctx); err != nil {
			return err
		}
	}
	return nil
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
