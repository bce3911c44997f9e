package migrations

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/golden-architecture/control-plane/platform/database"

	"github.com/google/go-cmp/cmp"
)

// sqlFiles builds an in-memory migrations folder from name → SQL.
func sqlFiles(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

// Two statements per file: both drivers must run every statement of a file.
var threeFiles = map[string]string{
	"0001_first.sql":  "CREATE TABLE t1 (id INTEGER PRIMARY KEY);\nINSERT INTO t1 (id) VALUES (1);\n",
	"0002_second.sql": "CREATE TABLE t2 (id INTEGER PRIMARY KEY);\n-- a comment between statements\nINSERT INTO t2 (id) VALUES (2);",
	"0010_tenth.sql":  "CREATE TABLE t10 (id INTEGER PRIMARY KEY); INSERT INTO t10 (id) VALUES (10);",
}

func appliedVersions(as []Applied) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Version)
	}
	return out
}

func TestUpAppliesInOrderAndRecords(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db := b.newDatabase(t)(t)
		fsys := sqlFiles(threeFiles)
		before := time.Now()

		got, err := New(db, b.dialect, withFS(fsys)).Up(t.Context())
		if err != nil {
			t.Fatalf("Up: %v", err)
		}
		after := time.Now()

		want := []string{"0001_first", "0002_second", "0010_tenth"}
		if diff := cmp.Diff(want, appliedVersions(got)); diff != "" {
			t.Errorf("applied versions (-want +got):\n%s", diff)
		}
		for _, table := range []string{"t1", "t2", "t10"} {
			var n int
			if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
				t.Fatalf("count %s: %v", table, err)
			}
			if n != 1 {
				t.Errorf("rows in %s = %d, want 1 (second statement of the file ran)", table, n)
			}
		}

		rows, err := db.QueryContext(t.Context(),
			`SELECT version, checksum, applied_at, duration_ms FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatalf("read schema_migrations: %v", err)
		}
		defer rows.Close()
		var gotVersions []string
		for rows.Next() {
			var (
				version, sum string
				at           time.Time
				ms           int64
			)
			if err := rows.Scan(&version, &sum, &at, &ms); err != nil {
				t.Fatalf("scan: %v", err)
			}
			gotVersions = append(gotVersions, version)
			if want := checksum(fsys[version+".sql"].Data); sum != want {
				t.Errorf("%s checksum = %s, want %s", version, sum, want)
			}
			if at.Before(before.Add(-time.Second)) || at.After(after.Add(time.Second)) {
				t.Errorf("%s applied_at = %v, want between %v and %v", version, at, before, after)
			}
			if ms < 0 || ms > after.Sub(before).Milliseconds()+1 {
				t.Errorf("%s duration_ms = %d, want 0..%d", version, ms, after.Sub(before).Milliseconds()+1)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("read schema_migrations: %v", err)
		}
		if diff := cmp.Diff(want, gotVersions); diff != "" {
			t.Errorf("schema_migrations versions (-want +got):\n%s", diff)
		}
	})
}

func TestUpTwiceIsNoop(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db := b.newDatabase(t)(t)
		r := New(db, b.dialect, withFS(sqlFiles(threeFiles)))
		if _, err := r.Up(t.Context()); err != nil {
			t.Fatalf("first Up: %v", err)
		}
		first, err := r.Status(t.Context())
		if err != nil {
			t.Fatalf("Status: %v", err)
		}

		got, err := r.Up(t.Context())
		if err != nil {
			t.Fatalf("second Up: %v", err)
		}
		if len(got) != 0 {
			t.Errorf("second Up applied %v, want nothing", appliedVersions(got))
		}
		second, err := r.Status(t.Context())
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		if diff := cmp.Diff(first, second); diff != "" {
			t.Errorf("status changed by a no-op Up (-first +second):\n%s", diff)
		}
		var n int
		if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM t1").Scan(&n); err != nil || n != 1 {
			t.Errorf("rows in t1 = %d (err %v), want 1", n, err)
		}
	})
}

func TestChecksumDriftIsRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db := b.newDatabase(t)(t)
		fsys := sqlFiles(map[string]string{"0001_first.sql": "CREATE TABLE t1 (id INTEGER);"})
		r := New(db, b.dialect, withFS(fsys))
		if _, err := r.Up(t.Context()); err != nil {
			t.Fatalf("Up: %v", err)
		}
		stored := checksum(fsys["0001_first.sql"].Data)

		// Someone edits the applied file and adds a new one.
		fsys["0001_first.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE t1 (id INTEGER, name TEXT);")}
		fsys["0002_second.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE t2 (id INTEGER);")}
		edited := checksum(fsys["0001_first.sql"].Data)

		wantMsg := fmt.Sprintf("migration 0001_first.sql: checksum changed since it was applied (stored %s…, file %s…)",
			stored[:12], edited[:12])
		for name, call := range map[string]func() error{
			"Up":     func() error { _, err := r.Up(t.Context()); return err },
			"Verify": func() error { return r.Verify(t.Context()) },
		} {
			t.Run(name, func(t *testing.T) {
				err := call()
				if !errors.Is(err, ErrChecksumMismatch) {
					t.Fatalf("error = %v, want ErrChecksumMismatch", err)
				}
				var ce *ChecksumError
				if !errors.As(err, &ce) || ce.File != "0001_first.sql" || ce.Stored != stored || ce.Actual != edited {
					t.Errorf("ChecksumError = %+v, want file 0001_first.sql, stored %s, actual %s", ce, stored, edited)
				}
				if err.Error() != wantMsg {
					t.Errorf("message = %q, want %q", err.Error(), wantMsg)
				}
			})
		}
		if tableExists(t, db, b.dialect, "t2") {
			t.Errorf("0002 was applied although 0001 changed")
		}
		statuses, err := r.Status(t.Context())
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		if len(statuses) != 2 || !statuses[0].Changed || statuses[0].Checksum != stored || statuses[1].Applied {
			t.Errorf("Status = %+v, want 0001 changed (stored checksum) and 0002 pending", statuses)
		}
	})
}

func TestFailingFileRollsBackAndStops(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db := b.newDatabase(t)(t)
		fsys := sqlFiles(map[string]string{
			"0001_ok.sql":    "CREATE TABLE t1 (id INTEGER);",
			"0002_bad.sql":   "CREATE TABLE t2 (id INTEGER);\nINSERT INTO t2 (id) VALUES (1);\nINSERT INTO no_such_table (id) VALUES (1);",
			"0003_later.sql": "CREATE TABLE t3 (id INTEGER);",
		})
		r := New(db, b.dialect, withFS(fsys))

		got, err := r.Up(t.Context())
		if err == nil || !strings.Contains(err.Error(), "migration 0002_bad.sql: ") {
			t.Fatalf("Up error = %v, want one naming 0002_bad.sql", err)
		}
		if errors.Is(err, ErrChecksumMismatch) {
			t.Errorf("a failing file reported as a checksum mismatch: %v", err)
		}
		if diff := cmp.Diff([]string{"0001_ok"}, appliedVersions(got)); diff != "" {
			t.Errorf("applied before the failure (-want +got):\n%s", diff)
		}
		for table, want := range map[string]bool{"t1": true, "t2": false, "t3": false} {
			if got := tableExists(t, db, b.dialect, table); got != want {
				t.Errorf("table %s exists = %v, want %v", table, got, want)
			}
		}
		if diff := cmp.Diff([]string{"0001_ok"}, versions(t, db)); diff != "" {
			t.Errorf("recorded versions (-want +got):\n%s", diff)
		}
		if n, err := r.Pending(t.Context()); err != nil || n != 2 {
			t.Errorf("Pending = %d, %v; want 2", n, err)
		}

		// The failed file was never recorded, so fixing it in place is fine.
		fsys["0002_bad.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE t2 (id INTEGER);")}
		got, err = r.Up(t.Context())
		if err != nil {
			t.Fatalf("Up after the fix: %v", err)
		}
		if diff := cmp.Diff([]string{"0002_bad", "0003_later"}, appliedVersions(got)); diff != "" {
			t.Errorf("applied after the fix (-want +got):\n%s", diff)
		}
	})
}

func TestConcurrentRunnersApplyEachFileOnce(t *testing.T) {
	const (
		runners = 3
		rounds  = 3
		nFiles  = 12
	)
	// Each file takes a few milliseconds (the recursive count), so runners
	// that lost the race for the lock read schema_migrations while the
	// winner is half-way and must then skip what it applied meanwhile.
	const slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000) SELECT count(*) FROM c;\n"
	files := map[string]string{"0001_counter.sql": "CREATE TABLE counter (version TEXT NOT NULL);"}
	for i := 2; i <= nFiles; i++ {
		v := fmt.Sprintf("%04d_insert", i)
		files[v+".sql"] = slow + fmt.Sprintf("INSERT INTO counter (version) VALUES ('%s');", v)
	}
	eachBackend(t, func(t *testing.T, b backend) {
		for round := range rounds {
			t.Run(fmt.Sprint("round", round), func(t *testing.T) {
				open := b.newDatabase(t)
				rs := make([]*Runner, runners)
				for i := range rs {
					// Separate handles: separate pools, like separate replicas.
					rs[i] = New(open(t), b.dialect, withFS(sqlFiles(files)))
				}
				var (
					wg      sync.WaitGroup
					start   = make(chan struct{})
					applied = make([][]Applied, runners)
					errs    = make([]error, runners)
				)
				for i, r := range rs {
					wg.Go(func() {
						<-start
						applied[i], errs[i] = r.Up(t.Context())
					})
				}
				close(start)
				wg.Wait()

				total := 0
				for i, err := range errs {
					if err != nil {
						t.Errorf("runner %d: %v", i, err)
					}
					total += len(applied[i])
				}
				if total != nFiles {
					t.Errorf("files applied over all runners = %d, want %d", total, nFiles)
				}
				db := open(t)
				rows, err := db.QueryContext(t.Context(), `SELECT version, count(*) FROM counter GROUP BY version`)
				if err != nil {
					t.Fatalf("read counter: %v", err)
				}
				defer rows.Close()
				seen := 0
				for rows.Next() {
					var (
						v string
						n int
					)
					if err := rows.Scan(&v, &n); err != nil {
						t.Fatalf("scan counter: %v", err)
					}
					seen++
					if n != 1 {
						t.Errorf("%s ran %d times, want 1", v, n)
					}
				}
				if err := rows.Err(); err != nil {
					t.Fatalf("read counter: %v", err)
				}
				if seen != nFiles-1 {
					t.Errorf("insert files that ran = %d, want %d", seen, nFiles-1)
				}
				if got := len(versions(t, db)); got != nFiles {
					t.Errorf("recorded versions = %d, want %d", got, nFiles)
				}
			})
		}
	})
}

func TestStatusPendingAndMissingFiles(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db := b.newDatabase(t)(t)
		three := sqlFiles(threeFiles)
		newer := New(db, b.dialect, withFS(three))

		// Read-only methods on a database never migrated: all pending, nothing created.
		if n, err := newer.Pending(t.Context()); err != nil || n != 3 {
			t.Errorf("Pending before Up = %d, %v; want 3", n, err)
		}
		if err := newer.Verify(t.Context()); err != nil {
			t.Errorf("Verify before Up: %v", err)
		}
		if tableExists(t, db, b.dialect, "schema_migrations") {
			t.Errorf("read-only methods created schema_migrations")
		}
		if _, err := newer.Up(t.Context()); err != nil {
			t.Fatalf("Up: %v", err)
		}

		// An older release knows only the first two files; a later one has a fourth.
		older := New(db, b.dialect, withFS(sqlFiles(map[string]string{
			"0001_first.sql":  threeFiles["0001_first.sql"],
			"0002_second.sql": threeFiles["0002_second.sql"],
		})))
		later := sqlFiles(threeFiles)
		later["0011_eleventh.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE t11 (id INTEGER);")}

		for _, tc := range []struct {
			name        string
			r           *Runner
			wantPending int
			want        []Status
		}{
			{
				name: "older release", r: older, wantPending: 0,
				want: []Status{
					{Version: "0001_first", Applied: true, Checksum: checksum(three["0001_first.sql"].Data)},
					{Version: "0002_second", Applied: true, Checksum: checksum(three["0002_second.sql"].Data)},
					{Version: "0010_tenth", Applied: true, Checksum: checksum(three["0010_tenth.sql"].Data), Missing: true},
				},
			},
			{
				name: "later release", r: New(db, b.dialect, withFS(later)), wantPending: 1,
				want: []Status{
					{Version: "0001_first", Applied: true, Checksum: checksum(three["0001_first.sql"].Data)},
					{Version: "0002_second", Applied: true, Checksum: checksum(three["0002_second.sql"].Data)},
					{Version: "0010_tenth", Applied: true, Checksum: checksum(three["0010_tenth.sql"].Data)},
					{Version: "0011_eleventh", Checksum: checksum(later["0011_eleventh.sql"].Data)},
				},
			},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := tc.r.Status(t.Context())
				if err != nil {
					t.Fatalf("Status: %v", err)
				}
				for i := range got {
					if got[i].Applied == got[i].AppliedAt.IsZero() {
						t.Errorf("%s: Applied %v with AppliedAt %v", got[i].Version, got[i].Applied, got[i].AppliedAt)
					}
					got[i].AppliedAt, got[i].Duration = time.Time{}, 0
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("Status (-want +got):\n%s", diff)
				}
				if n, err := tc.r.Pending(t.Context()); err != nil || n != tc.wantPending {
					t.Errorf("Pending = %d, %v; want %d", n, err, tc.wantPending)
				}
				if err := tc.r.Verify(t.Context()); err != nil {
					t.Errorf("Verify: %v", err)
				}
			})
		}

		// A missing file does not stop the older release from starting.
		if got, err := older.Up(t.Context()); err != nil || len(got) != 0 {
			t.Errorf("older Up = %v, %v; want nothing applied and no error", appliedVersions(got), err)
		}
	})
}

func TestEmbeddedMigrationsApply(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db := b.newDatabase(t)(t)
		r := New(db, b.dialect)
		got, err := r.Up(t.Context())
		if err != nil {
			t.Fatalf("Up: %v", err)
		}
		if len(got) == 0 || got[0].Version != "0001_audit_log" {
			t.Fatalf("applied %v, want 0001_audit_log first", appliedVersions(got))
		}
		if n, err := r.Pending(t.Context()); err != nil || n != 0 {
			t.Errorf("Pending = %d, %v; want 0", n, err)
		}

		// Defaults and the generated id work as the audit service expects.
		for _, action := range []string{"auth.login", "budget.request"} {
			if _, err := db.ExecContext(t.Context(), `INSERT INTO audit_log (action) VALUES ($1)`, action); err != nil {
				t.Fatalf("insert audit row: %v", err)
			}
		}
		var (
			id      int64
			details string
			created time.Time
		)
		err = db.QueryRowContext(t.Context(),
			`SELECT id, details, created_at FROM audit_log ORDER BY created_at DESC, id DESC LIMIT 1`).
			Scan(&id, &details, &created)
		if err != nil {
			t.Fatalf("read audit row: %v", err)
		}
		if id != 2 || details != "{}" || time.Since(created) > time.Hour || time.Since(created) < -time.Hour {
			t.Errorf("newest audit row = id %d, details %q, created_at %v; want id 2, details {}, created now", id, details, created)
		}

		indexQuery := `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_log' AND name LIKE 'audit_log_%_idx'`
		if b.dialect == database.Postgres {
			indexQuery = `SELECT count(*) FROM pg_indexes WHERE tablename = 'audit_log' AND indexname LIKE 'audit_log_%_idx'`
		}
		var indexes int
		if err := db.QueryRowContext(t.Context(), indexQuery).Scan(&indexes); err != nil {
			t.Fatalf("count indexes: %v", err)
		}
		// 0001's four, and 0028's (action, created_at) and (user_id, created_at).
		if indexes != 6 {
			t.Errorf("audit_log indexes = %d, want 6", indexes)
		}
	})
}

func TestUpWithCancelledContextAppliesNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db := b.newDatabase(t)(t)
		r := New(db, b.dialect, withFS(sqlFiles(threeFiles)))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := r.Up(ctx); err == nil {
			t.Fatalf("Up with a cancelled context succeeded")
		}
		if tableExists(t, db, b.dialect, "t1") {
			t.Errorf("t1 created by a cancelled Up")
		}
		if _, err := r.Up(t.Context()); err != nil {
			t.Fatalf("Up afterwards: %v", err)
		}
	})
}

func TestUnknownDialect(t *testing.T) {
	r := New(nil, "mysql")
	_, upErr := r.Up(t.Context())
	_, statusErr := r.Status(t.Context())
	for name, err := range map[string]error{"Up": upErr, "Status": statusErr, "Verify": r.Verify(t.Context())} {
		if err == nil || !strings.Contains(err.Error(), `unknown dialect "mysql"`) {
			t.Errorf("%s error = %v, want unknown dialect", name, err)
		}
	}
}
