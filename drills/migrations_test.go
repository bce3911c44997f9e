package drills

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// migrationRounds is how many empty databases three replicas race on.
const migrationRounds = 3

// TestMigrationDrill starts three replicas at the same moment on an empty
// database, three times: each migration file is applied exactly once
// (schema_migrations has one row per file, the logs one "migration applied"
// per file in total), no replica logs an error, and all become ready.
func TestMigrationDrill(t *testing.T) {
	needDrills(t)
	fig := newFigures(t, "migrations")
	files, err := filepath.Glob(filepath.Join("..", "migrations", "postgres", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migration files under ../migrations/postgres: %v", err)
	}
	var want []string
	for _, f := range files {
		want = append(want, strings.TrimSuffix(filepath.Base(f), ".sql"))
	}
	slices.Sort(want)
	fig.add("migration files", fmt.Sprintf("%d (%s)", len(want), strings.Join(want, ", ")))
	fig.add("replicas started at once per round", 3)

	for round := 1; round <= migrationRounds; round++ {
		c := newCluster(t, clusterOptions{name: fmt.Sprintf("migrate%d", round), redisDB: 14,
			env: map[string]string{"LOG_LEVEL": "info"}})
		start := time.Now()
		c.startAll()
		ready := time.Since(start)

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		rows, err := c.DB().QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
		if err != nil {
			cancel()
			t.Fatalf("round %d: read schema_migrations: %v", round, err)
		}
		var got []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			got = append(got, v)
		}
		rows.Close()
		cancel()
		applied := c.logLines(`"msg":"migration applied"`)
		waited := c.logLines("waiting for another instance to finish migrating")
		perReplica := make([]string, len(c.nodes))
		for i, n := range c.nodes {
			k := 0
			for _, line := range applied {
				if strings.HasPrefix(line, n.name+": ") {
					k++
				}
			}
			perReplica[i] = fmt.Sprintf("%s %d", n.name, k)
		}
		errs := c.errorLines()
		fig.addf(fmt.Sprintf("round %d", round),
			"all ready in %s; files applied per replica: %s; %d waited for the lock; schema_migrations rows %d",
			ready.Round(10*time.Millisecond), strings.Join(perReplica, ", "), len(waited), len(got))
		fig.check(t, fmt.Sprintf("round %d: schema_migrations has one row per file", round),
			slices.Equal(got, want), "got %v, want %v", got, want)
		fig.check(t, fmt.Sprintf("round %d: each file applied once across the replicas", round),
			len(applied) == len(want), "%d \"migration applied\" log lines for %d files: %v", len(applied), len(want), applied)
		fig.check(t, fmt.Sprintf("round %d: no ERROR in the logs", round), len(errs) == 0, "%v", first(errs, 5))
		for _, n := range c.nodes {
			n.Proc().Kill()
		}
	}
}
