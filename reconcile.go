package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/golden-architecture/control-plane/app"
	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/migrations"
	"github.com/golden-architecture/control-plane/services/budget"
)

const reconcileUsage = `usage: control-plane reconcile
Checks that every budget's used and reserved equal the sums of its ledger and
of its reservations; prints each budget that disagrees and exits 1 if any does.
`

// reconcile checks the budget invariant of DESIGN §5 on the live database:
// every budget's used and reserved equal the sums of its ledger and of its
// reservations. It reads one snapshot, so it may run while traffic flows,
// prints every budget that disagrees and fails when there is one.
func reconcile(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if done, err := parseFlags(flag.NewFlagSet("reconcile", flag.ContinueOnError), reconcileUsage, args, stdout); done || err != nil {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	db, _, err := app.OpenDatabase(ctx, cfg, migrations.Verify, quietLog())
	if err != nil {
		return err
	}
	defer db.Close()
	mismatches, err := budget.Reconcile(ctx, db.DB)
	if err != nil {
		return err
	}
	for _, m := range mismatches {
		fmt.Fprintln(stdout, m)
	}
	if len(mismatches) > 0 {
		return fmt.Errorf("%d budget(s) disagree with their ledger or reservations", len(mismatches))
	}
	fmt.Fprintln(stdout, "every budget agrees with its ledger and its reservations")
	return nil
}
