// Package migrations evolves the database schema with versioned SQL files, so
// every replica, every test and every operator sees the same schema history
// (GORM AutoMigrate is never used).
//
// Files live in postgres/ and sqlite/ as NNNN_name.sql and are embedded in the
// binary. A file's version is its name without ".sql"; files run in the order
// of their numeric prefix. Each file runs in its own transaction together with
// its row in schema_migrations(version, checksum, applied_at, duration_ms), so
// a file is either fully applied and recorded or not at all. A file must
// therefore not contain its own BEGIN/COMMIT, nor statements that refuse to run
// inside a transaction (such as CREATE INDEX CONCURRENTLY).
//
// Applied files are immutable: the runner stores the SHA-256 of each file and
// refuses to continue when an applied file has changed. Add a new file instead.
// Versions recorded in the database but absent from the binary are reported,
// not treated as errors, so an older release can still start after a newer one
// has migrated (expand/contract rollouts).
package migrations

import (
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/golden-architecture/control-plane/platform/database"
)

// embedded holds the SQL files of every dialect; New picks the dialect's folder.
//
//go:embed postgres/*.sql sqlite/*.sql
var embedded embed.FS

// Runner applies and inspects the migrations of one database. It is safe to
// run several Runners (in one process or many) against the same database at
// once: each file is applied exactly once.
type Runner struct {
	db      *sql.DB
	dialect database.Dialect
	ops     *dialectOps
	fsys    fs.FS
	log     *slog.Logger
	err     error // a construction problem, reported by every method
}

// Option adjusts a Runner; the defaults suit the service itself.
type Option func(*Runner)

// withFS replaces the embedded files with the NNNN_name.sql files at the root
// of fsys, so tests can exercise the runner with files of their own.
func withFS(fsys fs.FS) Option {
	return func(r *Runner) { r.fsys = fsys }
}

// WithLogger makes the runner report applied files and anomalies (such as
// versions missing from this binary); by default it is silent.
func WithLogger(l *slog.Logger) Option {
	return func(r *Runner) {
		if l != nil {
			r.log = l
		}
	}
}

// New returns a Runner for db, using the embedded files of dialect unless
// withFS says otherwise. An unknown dialect is reported by the Runner's methods
// rather than here, so wiring code stays a single expression.
func New(db *sql.DB, dialect database.Dialect, opts ...Option) *Runner {
	r := &Runner{
		db:      db,
		dialect: dialect,
		log:     slog.New(slog.DiscardHandler),
	}
	r.ops, r.err = opsFor(dialect)
	if r.err == nil {
		r.fsys, r.err = fs.Sub(embedded, string(dialect))
	}
	for _, opt := range opts {
		opt(r)
	}
	if r.err == nil && r.fsys == nil {
		r.err = fmt.Errorf("migrations: withFS(nil)")
	}
	return r
}
