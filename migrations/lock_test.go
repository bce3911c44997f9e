package migrations

import (
	"database/sql"
	"os"
	"testing"
	"testing/fstest"
	"time"

	"github.com/golden-architecture/control-plane/platform/database"

	"github.com/google/go-cmp/cmp"
)

// upResult carries the outcome of an Up run in a goroutine.
type upResult struct {
	applied []Applied
	err     error
}

func upAsync(t *testing.T, r *Runner) <-chan upResult {
	done := make(chan upResult, 1)
	go func() {
		applied, err := r.Up(t.Context())
		done <- upResult{applied, err}
	}()
	return done
}

// TestPostgresUpWaitsForTheAdvisoryLock holds the lock as another replica
// would and checks that Up waits for it, applies once it is free, and releases
// it again, also after a failing file.
func TestPostgresUpWaitsForTheAdvisoryLock(t *testing.T) {
	u := os.Getenv("TEST_DATABASE_URL")
	if u == "" {
		t.Skip("TEST_DATABASE_URL not set")
	}
	open := postgresDatabase(u)(t)
	other := open(t)
	holder, err := other.Conn(t.Context())
	if err != nil {
		t.Fatalf("holder connection: %v", err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(t.Context(), `SELECT pg_advisory_lock($1)`, pgLockKey); err != nil {
		t.Fatalf("take lock: %v", err)
	}

	db := open(t)
	r := New(db, database.Postgres, withFS(sqlFiles(threeFiles)))
	done := upAsync(t, r)
	waitFor(t, "Up to wait for the advisory lock", func() bool { return advisoryLocks(t, other, false) == 1 })
	if n, err := r.Pending(t.Context()); err != nil || n != 3 {
		t.Errorf("Pending while the lock is held = %d, %v; want 3", n, err)
	}
	if _, err := holder.ExecContext(t.Context(), `SELECT pg_advisory_unlock($1)`, pgLockKey); err != nil {
		t.Fatalf("release lock: %v", err)
	}
	res := <-done
	if res.err != nil {
		t.Fatalf("Up: %v", res.err)
	}
	if diff := cmp.Diff([]string{"0001_first", "0002_second", "0010_tenth"}, appliedVersions(res.applied)); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	if n := advisoryLocks(t, other, true); n != 0 {
		t.Errorf("advisory locks held after Up = %d, want 0", n)
	}

	failing := sqlFiles(threeFiles)
	failing["0011_bad.sql"] = &fstest.MapFile{Data: []byte("SELECT * FROM no_such_table;")}
	if _, err := New(db, database.Postgres, withFS(failing)).Up(t.Context()); err == nil {
		t.Fatalf("Up with a failing file succeeded")
	}
	if n := advisoryLocks(t, other, true); n != 0 {
		t.Errorf("advisory locks held after a failed Up = %d, want 0", n)
	}
}

// advisoryLocks counts advisory locks on this test's database that are
// granted (or waiting, when granted is false).
func advisoryLocks(t *testing.T, db *sql.DB, granted bool) int {
	t.Helper()
	var n int
	err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_locks
		WHERE locktype = 'advisory' AND granted = $1
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, granted).Scan(&n)
	if err != nil {
		t.Fatalf("read pg_locks: %v", err)
	}
	return n
}

// waitFor polls cond until it holds, failing the test after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestSQLiteUpQueuesBehindAWriter opens the database with busy_timeout 0, so
// only the runner's own busy timeout lets it wait for a writer holding the
// lock instead of failing with "database is locked"; the application's
// setting is restored afterwards.
func TestSQLiteUpQueuesBehindAWriter(t *testing.T) {
	for _, tc := range []struct{ name, query string }{
		{"rollback journal", "?_pragma=busy_timeout(0)"},
		{"wal", "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(0)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			open := sqliteDatabase(tc.query)(t)
			holder, err := open(t).Conn(t.Context())
			if err != nil {
				t.Fatalf("holder connection: %v", err)
			}
			defer holder.Close()
			if _, err := holder.ExecContext(t.Context(), `BEGIN IMMEDIATE`); err != nil {
				t.Fatalf("take write lock: %v", err)
			}

			db := open(t)
			db.SetMaxOpenConns(1) // the pool's one connection is the runner's
			done := upAsync(t, New(db, database.SQLite, withFS(sqlFiles(threeFiles))))
			time.Sleep(300 * time.Millisecond) // let the runner reach the lock
			if _, err := holder.ExecContext(t.Context(), `COMMIT`); err != nil {
				t.Fatalf("release write lock: %v", err)
			}
			res := <-done
			if res.err != nil {
				t.Fatalf("Up: %v", res.err)
			}
			if len(res.applied) != 3 {
				t.Errorf("applied %v, want 3 files", appliedVersions(res.applied))
			}
			var timeout int
			if err := db.QueryRowContext(t.Context(), `PRAGMA busy_timeout`).Scan(&timeout); err != nil {
				t.Fatalf("read busy_timeout: %v", err)
			}
			if timeout != 0 {
				t.Errorf("busy_timeout after Up = %d, want the application's 0", timeout)
			}
		})
	}
}
