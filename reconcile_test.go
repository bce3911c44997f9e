package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/platform/database"
)

func TestReconcileCommand(t *testing.T) {
	env, _ := cliEnv(t)
	if _, err := runCLI(t, env, "", "reconcile"); err == nil {
		t.Fatal("reconcile on a database without the schema succeeded")
	}
	if out, err := runCLI(t, env, "", "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	out, err := runCLI(t, env, "", "reconcile")
	if err != nil || !strings.Contains(out, "every budget agrees") {
		t.Fatalf("reconcile of an empty ledger: %v\n%s", err, out)
	}

	// A counter that moved without its ledger row.
	db, err := database.Open(context.Background(), database.Options{URL: env["DATABASE_URL"], SQLitePath: filepath.Join(env["DATA_DIR"], "control-plane.db"), MinConns: 1, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Create(&models.BudgetLimit{TenantID: "t1", ProjectID: "p1", TotalLimit: 100, Used: 5, UpdatedAt: time.Now()}).Error; err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, env, "", "reconcile")
	if err == nil || !strings.Contains(err.Error(), "1 budget(s) disagree") || !strings.Contains(out, "t1/p1: stored used=5") {
		t.Errorf("reconcile of a broken budget: err %v, out %q; want it named and a failure", err, out)
	}
}
