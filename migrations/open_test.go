package migrations

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/golden-architecture/control-plane/platform/database"
)

// TestOpenModes: Apply migrates, Verify and Inspect touch nothing, Verify and
// Apply refuse a changed file while Inspect still opens to report it, and a
// refused open leaves nothing open.
func TestOpenModes(t *testing.T) {
	targets := map[string]func(t *testing.T) database.Options{
		"sqlite": func(t *testing.T) database.Options {
			return database.Options{SQLitePath: filepath.Join(t.TempDir(), "open.db"), MaxConns: 2}
		},
	}
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		targets["postgres"] = func(t *testing.T) database.Options {
			return database.Options{URL: postgresURL(t, u), MinConns: 1, MaxConns: 2}
		}
	}
	sqliteFiles, err := fs.Sub(embedded, string(database.SQLite))
	if err != nil {
		t.Fatal(err)
	}
	files, err := loadMigrations(sqliteFiles)
	if err != nil {
		t.Fatal(err)
	}
	for name, options := range targets {
		t.Run(name, func(t *testing.T) {
			o := options(t)
			for _, mode := range []Mode{Inspect, Verify} {
				db, r, err := Open(t.Context(), o, mode)
				if err != nil {
					t.Fatalf("mode %d on an empty database: %v", mode, err)
				}
				pending, err := r.Pending(t.Context())
				sqlDB, _ := db.DB.DB()
				if err != nil || pending != len(files) || tableExists(t, sqlDB, db.Dialect, "schema_migrations") {
					t.Errorf("mode %d: pending %d (%v), schema_migrations created; want all %d pending and nothing created", mode, pending, err, len(files))
				}
				_ = db.Close()
			}

			db, r, err := Open(t.Context(), o, Apply)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if pending, err := r.Pending(t.Context()); err != nil || pending != 0 {
				t.Errorf("after Apply: pending %d (%v), want 0", pending, err)
			}
			if err := db.Exec(`UPDATE schema_migrations SET checksum = 'edited' WHERE version = ?`, files[0].version).Error; err != nil {
				t.Fatal(err)
			}
			_ = db.Close()

			for _, mode := range []Mode{Apply, Verify} {
				if db, _, err := Open(t.Context(), o, mode); !errors.Is(err, ErrChecksumMismatch) || db != nil {
					t.Errorf("mode %d with a changed file: %v, %v; want ErrChecksumMismatch and no database", mode, db, err)
				}
			}
			db, r, err = Open(t.Context(), o, Inspect)
			if err != nil {
				t.Fatalf("Inspect with a changed file: %v", err)
			}
			defer db.Close()
			st, err := r.Status(t.Context())
			if err != nil || len(st) == 0 || !st[0].Changed {
				t.Errorf("status = %+v, %v; want the first file reported changed", st, err)
			}
			if _, _, err := Open(t.Context(), o, Mode(0)); err == nil {
				t.Error("Open with mode 0 succeeded")
			}
		})
	}
}
