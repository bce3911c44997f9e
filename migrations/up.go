package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Applied describes one file applied by an Up call, for start-up logs.
type Applied struct {
	Version  string
	Duration time.Duration
}

// Up applies every pending file in order, each in its own transaction, and
// returns the files this call applied (none when another runner got there
// first). It refuses to apply anything when an applied file has changed
// (ErrChecksumMismatch) and stops at the first file that fails, which is
// rolled back; files applied before it stay applied.
func (r *Runner) Up(ctx context.Context) ([]Applied, error) {
	if r.err != nil {
		return nil, r.err
	}
	files, err := loadMigrations(r.fsys)
	if err != nil {
		return nil, err
	}

	// One connection for the whole call: PostgreSQL's advisory lock belongs to
	// a session, and SQLite's busy timeout is a per-connection setting.
	conn, err := r.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: get a connection: %w", err)
	}
	defer conn.Close()
	end, err := r.ops.session(ctx, conn, r.log)
	if err != nil {
		return nil, err
	}
	defer end()

	if _, err := conn.ExecContext(ctx, r.ops.createTable); err != nil {
		return nil, fmt.Errorf("migrations: create schema_migrations: %w", err)
	}
	records, err := readRecords(ctx, conn)
	if err != nil {
		return nil, err
	}
	if err := checkChecksums(files, records); err != nil {
		return nil, err
	}
	r.warnUnusual(ctx, files, records)

	var applied []Applied
	for _, m := range files {
		if _, ok := records[m.version]; ok {
			continue
		}
		a, ran, err := r.apply(ctx, conn, m)
		if err != nil {
			return applied, err
		}
		if ran {
			applied = append(applied, a)
		}
	}
	return applied, nil
}

// apply runs one file and records it in the same transaction. ran is false
// when another runner applied the file since Up read schema_migrations: the
// check is repeated inside the transaction, which holds the write lock
// (SQLite) or runs under the advisory lock (PostgreSQL).
func (r *Runner) apply(ctx context.Context, conn *sql.Conn, m migration) (a Applied, ran bool, err error) {
	tx, err := r.ops.begin(ctx, conn)
	if err != nil {
		return a, false, fmt.Errorf("migration %s: begin transaction: %w", m.file, err)
	}
	committed := false
	defer func() {
		if committed {
			return
		}
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			r.log.WarnContext(ctx, "migrations: rollback failed", "file", m.file, "error", rbErr)
		}
	}()

	var stored string
	err = tx.QueryRowContext(ctx, `SELECT checksum FROM schema_migrations WHERE version = $1`, m.version).Scan(&stored)
	switch {
	case err == nil && stored != m.checksum:
		return a, false, &ChecksumError{File: m.file, Stored: stored, Actual: m.checksum}
	case err == nil:
		return a, false, nil
	case !errors.Is(err, sql.ErrNoRows):
		return a, false, fmt.Errorf("migration %s: read schema_migrations: %w", m.file, err)
	}

	start := time.Now()
	// No arguments: pgx then uses the simple protocol, which runs every
	// statement of the file; SQLite's driver steps through them one by one.
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return a, false, fmt.Errorf("migration %s: %w", m.file, err)
	}
	took := time.Since(start)
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, checksum, applied_at, duration_ms) VALUES ($1, $2, $3, $4)`,
		m.version, m.checksum, time.Now().UTC(), took.Milliseconds()); err != nil {
		return a, false, fmt.Errorf("migration %s: record in schema_migrations: %w", m.file, err)
	}
	if err := tx.Commit(); err != nil {
		return a, false, fmt.Errorf("migration %s: commit: %w", m.file, err)
	}
	committed = true
	r.log.InfoContext(ctx, "migration applied", "version", m.version, "duration_ms", float64(took.Microseconds())/1000)
	return Applied{Version: m.version, Duration: took}, true, nil
}

// warnUnusual logs what is legal but worth an operator's attention: versions
// applied by a newer release that this binary does not have, and pending files
// numbered below an applied one (usually two branches merged).
func (r *Runner) warnUnusual(ctx context.Context, files []migration, records map[string]record) {
	known := make(map[string]bool, len(files))
	var highest uint64
	for _, m := range files {
		known[m.version] = true
		if _, ok := records[m.version]; ok {
			highest = max(highest, m.number)
		}
	}
	for version := range records {
		if !known[version] {
			r.log.WarnContext(ctx, "migrations: applied version has no file in this release (applied by a newer one?)",
				"version", version)
		}
	}
	for _, m := range files {
		if _, ok := records[m.version]; !ok && m.number < highest {
			r.log.WarnContext(ctx, "migrations: applying a file numbered below one already applied",
				"version", m.version)
		}
	}
}
