package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"
)

// pgLockKey is the pg_advisory_lock key that serialises runners on one
// database. Its value is arbitrary but must never change: releases using
// different keys would migrate concurrently.
const pgLockKey int64 = 0x676f6c64_6d696772 // "goldmigr"

// unlockTimeout bounds the clean-up of a session after Up, even when Up's
// context is already cancelled.
const unlockTimeout = 10 * time.Second

func postgresOps() *dialectOps {
	return &dialectOps{
		createTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
	version     text        PRIMARY KEY,
	checksum    text        NOT NULL,
	applied_at  timestamptz NOT NULL,
	duration_ms bigint      NOT NULL
)`,
		tableExists: `SELECT to_regclass('schema_migrations') IS NOT NULL`,
		session:     pgSession,
		begin: func(ctx context.Context, conn *sql.Conn) (txn, error) {
			return conn.BeginTx(ctx, nil)
		},
	}
}

// pgSession holds the advisory lock on conn for the whole Up call; the
// migration transactions run on the same connection, so the lock covers them.
// Other replicas block in pg_advisory_lock until this one is done and then
// find nothing left to apply.
func pgSession(ctx context.Context, conn *sql.Conn, log *slog.Logger) (func(), error) {
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, pgLockKey).Scan(&got); err != nil {
		discard(conn)
		return nil, fmt.Errorf("migrations: take advisory lock: %w", err)
	}
	if !got {
		log.InfoContext(ctx, "migrations: waiting for another instance to finish migrating")
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, pgLockKey); err != nil {
			// The lock may have been granted as the wait was cancelled; closing
			// the session is the one way to be sure it is not kept.
			discard(conn)
			return nil, fmt.Errorf("migrations: wait for advisory lock: %w", err)
		}
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
		defer cancel()
		var released bool
		err := conn.QueryRowContext(ctx, `SELECT pg_advisory_unlock($1)`, pgLockKey).Scan(&released)
		if err != nil || !released {
			// Ending the session releases every lock it holds.
			log.WarnContext(ctx, "migrations: advisory unlock failed; closing the connection instead",
				"released", released, "error", err)
			discard(conn)
		}
	}, nil
}
