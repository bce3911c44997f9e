package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"
)

// sqliteBusyTimeout is how long a runner waits for another one holding the
// SQLite write lock before giving up with "database is locked". Migrations of
// the embedded database take milliseconds, so a minute is generous.
const sqliteBusyTimeout = time.Minute

func sqliteOps() *dialectOps {
	return &dialectOps{
		createTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
	version     TEXT      PRIMARY KEY,
	checksum    TEXT      NOT NULL,
	applied_at  TIMESTAMP NOT NULL,
	duration_ms BIGINT    NOT NULL
)`,
		tableExists: `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`,
		session:     sqliteSession,
		begin:       sqliteBegin,
	}
}

// sqliteSession sets a busy timeout on conn so a runner queues behind another
// one holding the write lock instead of failing, and restores the previous
// value afterwards because the connection goes back to the application's pool.
func sqliteSession(ctx context.Context, conn *sql.Conn, log *slog.Logger) (func(), error) {
	// PRAGMAs never block; running them without cancellation avoids the driver
	// silently skipping a statement when ctx is done.
	bg := context.WithoutCancel(ctx)
	var prev int64
	if err := conn.QueryRowContext(bg, `PRAGMA busy_timeout`).Scan(&prev); err != nil {
		return nil, fmt.Errorf("migrations: read busy_timeout: %w", err)
	}
	set := func(ms int64) error {
		_, err := conn.ExecContext(bg, fmt.Sprintf(`PRAGMA busy_timeout = %d`, ms))
		return err
	}
	if err := set(sqliteBusyTimeout.Milliseconds()); err != nil {
		return nil, fmt.Errorf("migrations: set busy_timeout: %w", err)
	}
	return func() {
		if err := set(prev); err != nil {
			log.WarnContext(ctx, "migrations: restore busy_timeout failed; closing the connection instead", "error", err)
			discard(conn)
		}
	}, nil
}

// sqliteBegin opens a transaction that holds the database's write lock from
// its first statement. A deferred transaction would read first and could then
// fail to upgrade to a writer (SQLITE_BUSY without waiting) when another runner
// wrote in between; BEGIN IMMEDIATE waits for the lock up to busy_timeout.
//
// BEGIN, COMMIT and ROLLBACK run without cancellation: the driver skips a
// statement silently when the context is already done, which here would leave
// a transaction open or a body outside any transaction.
func sqliteBegin(ctx context.Context, conn *sql.Conn) (txn, error) {
	tx := &sqliteTx{conn: conn, bg: context.WithoutCancel(ctx)}
	if _, err := conn.ExecContext(tx.bg, `BEGIN IMMEDIATE`); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	return tx, nil
}

// sqliteTx is a transaction begun with BEGIN IMMEDIATE on a dedicated
// connection, which database/sql's Tx cannot express.
type sqliteTx struct {
	conn *sql.Conn
	bg   context.Context
}

// ExecContext runs query in the transaction. It reports ctx's error even when
// the driver returned none, because the driver stops a multi-statement query
// at a cancellation without saying so.
func (t *sqliteTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := t.conn.ExecContext(ctx, query, args...)
	if err == nil {
		err = ctx.Err()
	}
	return res, err
}

// QueryRowContext runs a single-row query in the transaction.
func (t *sqliteTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.conn.QueryRowContext(ctx, query, args...)
}

// Commit ends the transaction; on failure the caller still calls Rollback.
func (t *sqliteTx) Commit() error {
	_, err := t.conn.ExecContext(t.bg, `COMMIT`)
	return err
}

// Rollback undoes the transaction. When that fails the connection's state is
// unknown, so it is closed rather than returned to the pool mid-transaction.
func (t *sqliteTx) Rollback() error {
	_, err := t.conn.ExecContext(t.bg, `ROLLBACK`)
	if err != nil {
		discard(t.conn)
	}
	return err
}
