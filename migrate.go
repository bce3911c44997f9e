package main

import (
	"context"
	"fmt"
	"io"

	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/migrations"
	"github.com/golden-architecture/control-plane/platform/database"
)

// migrate applies pending migrations (or, with "status", only reports them).
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	statusOnly := len(args) > 0 && args[0] == "status"
	if len(args) > 0 && !statusOnly {
		return fmt.Errorf("usage: migrate [status]")
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	db, err := database.Open(ctx, database.Options{URL: cfg.DatabaseURL, SQLitePath: cfg.SQLitePath, MinConns: 1, MaxConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	sqlDB, err := db.DB.DB()
	if err != nil {
		return err
	}
	r := migrations.New(sqlDB, db.Dialect)
	if !statusOnly {
		applied, err := r.Up(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "applied %d migration(s) to %s\n", len(applied), db.Location)
	}
	st, err := r.Status(ctx)
	if err != nil {
		return err
	}
	return migrations.PrintStatus(stdout, st)
}
