package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// record is one row of schema_migrations.
type record struct {
	checksum  string
	appliedAt time.Time
	duration  time.Duration
}

// querier is satisfied by *sql.DB and *sql.Conn: read-only methods use the
// pool, Up uses its dedicated connection.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readRecords returns schema_migrations keyed by version.
func readRecords(ctx context.Context, q querier) (map[string]record, error) {
	rows, err := q.QueryContext(ctx, `SELECT version, checksum, applied_at, duration_ms FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("migrations: read schema_migrations: %w", err)
	}
	defer rows.Close()
	out := make(map[string]record)
	for rows.Next() {
		var (
			version string
			rec     record
			ms      int64
		)
		if err := rows.Scan(&version, &rec.checksum, &rec.appliedAt, &ms); err != nil {
			return nil, fmt.Errorf("migrations: read schema_migrations: %w", err)
		}
		rec.appliedAt = rec.appliedAt.UTC()
		rec.duration = time.Duration(ms) * time.Millisecond
		out[version] = rec
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrations: read schema_migrations: %w", err)
	}
	return out, nil
}

// snapshot loads the files and, without creating anything, the applied
// versions; a database that was never migrated has none.
func (r *Runner) snapshot(ctx context.Context) ([]migration, map[string]record, error) {
	if r.err != nil {
		return nil, nil, r.err
	}
	files, err := loadMigrations(r.fsys)
	if err != nil {
		return nil, nil, err
	}
	var exists bool
	if err := r.db.QueryRowContext(ctx, r.ops.tableExists).Scan(&exists); err != nil {
		return nil, nil, fmt.Errorf("migrations: look for schema_migrations: %w", err)
	}
	if !exists {
		return files, map[string]record{}, nil
	}
	records, err := readRecords(ctx, r.db)
	if err != nil {
		return nil, nil, err
	}
	return files, records, nil
}

// checkChecksums returns one *ChecksumError per applied file that changed, in
// file order, joined; nil when none did.
func checkChecksums(files []migration, records map[string]record) error {
	var errs []error
	for _, m := range files {
		if rec, ok := records[m.version]; ok && rec.checksum != m.checksum {
			errs = append(errs, &ChecksumError{File: m.file, Stored: rec.checksum, Actual: m.checksum})
		}
	}
	return errors.Join(errs...)
}
