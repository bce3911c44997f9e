package migrations

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"

	"github.com/golden-architecture/control-plane/platform/database"
)

// dialectOps is what differs between the databases: the bookkeeping DDL and
// how concurrent runners are kept from applying a file twice.
type dialectOps struct {
	// createTable creates schema_migrations if it is missing.
	createTable string
	// tableExists selects one boolean: does schema_migrations exist. Read-only
	// methods (Status, Pending, Verify) use it instead of creating the table.
	tableExists string
	// session prepares the dedicated connection of one Up call (a lock, a
	// busy timeout) and returns the function that undoes it.
	session func(ctx context.Context, conn *sql.Conn, log *slog.Logger) (end func(), err error)
	// begin opens the transaction of one file on conn.
	begin func(ctx context.Context, conn *sql.Conn) (txn, error)
}

// txn is the part of *sql.Tx the runner uses, so SQLite can substitute a
// transaction opened with BEGIN IMMEDIATE.
type txn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	Commit() error
	Rollback() error
}

func opsFor(d database.Dialect) (*dialectOps, error) {
	switch d {
	case database.Postgres:
		return postgresOps(), nil
	case database.SQLite:
		return sqliteOps(), nil
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q (want %q or %q)", d, database.Postgres, database.SQLite)
	}
}

// discard closes conn's underlying connection instead of returning it to the
// pool; used when its session state (a held lock, an open transaction) could
// not be cleaned up and must not leak to the next user.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}
