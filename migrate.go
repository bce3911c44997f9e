package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/golden-architecture/control-plane/app"
	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/migrations"
)

const migrateUsage = `usage:
  control-plane migrate          apply pending migrations, create the demo users and the
                                 bootstrap admin as a start does (SEED_DEMO_USERS,
                                 ADMIN_USERNAME/ADMIN_PASSWORD), then print the status of each
  control-plane migrate status   print the status only
Uses DATABASE_URL, else the SQLite file in DATA_DIR. Replicas may run it at the
same time: a database lock makes each migration apply once.
`

// migrate applies pending migrations (or, with "status", only reports them).
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	name, statusOnly := "migrate", false
	if len(args) > 0 && args[0] == "status" {
		name, statusOnly, args = "migrate status", true, args[1:]
	}
	if done, err := parseFlags(flag.NewFlagSet(name, flag.ContinueOnError), migrateUsage, args, stdout); done || err != nil {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	// Inspect: connect only, so that status reports a changed file instead of
	// refusing to open, and so that the files applied now can be counted.
	db, r, err := app.OpenDatabase(ctx, cfg, migrations.Inspect, quietLog())
	if err != nil {
		return err
	}
	defer db.Close()
	if !statusOnly {
		applied, err := r.Up(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "applied %d migration(s) to %s\n", len(applied), db.Location)
		// What a start does once the schema is ready, so that replicas
		// running with MIGRATE_ON_START=false get their accounts now.
		if err := app.SeedAccounts(ctx, cfg, db.DB, slog.New(slog.NewTextHandler(stdout, nil))); err != nil {
			return fmt.Errorf("seed accounts: %w", err)
		}
	}
	st, err := r.Status(ctx)
	if err != nil {
		return err
	}
	return migrations.PrintStatus(stdout, st)
}

// quietLog is the logger of the subcommands, which report on stdout.
func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
