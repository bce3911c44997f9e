package migrations

import (
	"context"
	"fmt"

	"github.com/golden-architecture/control-plane/platform/database"
)

// Mode says what Open does to the schema once connected.
type Mode int

// The modes of Open.
const (
	// Apply applies every pending file (the server with MIGRATE_ON_START=true,
	// the migrate and users subcommands, tests). A changed file stops it.
	Apply Mode = iota + 1
	// Verify applies nothing and refuses a changed file (the server with
	// MIGRATE_ON_START=false, which leaves pending files to the operator).
	Verify
	// Inspect neither applies nor checks anything (`migrate status`, which
	// reports changed files itself).
	Inspect
)

// Open is the one way to get a database: it connects as o says and then
// applies or verifies the migrations as mode says, so the server, every
// subcommand and every test see the schema of this release. It returns the
// database and its Runner (readiness asks it for pending files). On error
// nothing stays open.
func Open(ctx context.Context, o database.Options, mode Mode, opts ...Option) (*database.DB, *Runner, error) {
	db, err := database.Open(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	sqlDB, err := db.DB.DB()
	if err != nil {
		_ = db.Close()
		return nil, nil, fmt.Errorf("database handle: %w", err)
	}
	r := New(sqlDB, db.Dialect, opts...)
	switch mode {
	case Apply:
		_, err = r.Up(ctx)
	case Verify:
		err = r.Verify(ctx)
	case Inspect:
	default:
		err = fmt.Errorf("unknown mode %d", mode)
	}
	if err != nil {
		_ = db.Close()
		return nil, nil, fmt.Errorf("migrations: %w", err)
	}
	return db, r, nil
}
