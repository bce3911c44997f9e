package migrations

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// contractMarker opts a file into destructive statements. Such a file may
// only ship one release after the release that stopped using what it drops.
const contractMarker = "-- migrate:contract"

var destructive = regexp.MustCompile(`(?i)\b(DROP\s+(TABLE|COLUMN|INDEX|CONSTRAINT|TYPE|VIEW)|RENAME\s+(TO|COLUMN)|ALTER\s+COLUMN\s+\S+\s+(TYPE|SET\s+NOT\s+NULL)|TRUNCATE)\b`)

// TestMigrationsAreExpandOnly keeps rollbacks safe: the previous release must
// run on the schema of this one, so a migration only adds (tables, nullable or
// defaulted columns, indexes) unless it is marked as a contract step.
func TestMigrationsAreExpandOnly(t *testing.T) {
	err := fs.WalkDir(embedded, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".sql") {
			return err
		}
		b, err := fs.ReadFile(embedded, path)
		if err != nil {
			return err
		}
		text := string(b)
		if strings.Contains(text, contractMarker) {
			return nil
		}
		for i, line := range strings.Split(text, "\n") {
			code, _, _ := strings.Cut(line, "--")
			if m := destructive.FindString(code); m != "" {
				t.Errorf("%s:%d: %q is destructive; write expand-then-contract migrations, or mark the file %q",
					path, i+1, m, contractMarker)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDestructivePatternCatches(t *testing.T) {
	tests := []struct {
		sql  string
		want bool
	}{
		{"ALTER TABLE users DROP COLUMN role;", true},
		{"drop table users;", true},
		{"ALTER TABLE users RENAME COLUMN a TO b;", true},
		{"ALTER TABLE users RENAME TO people;", true},
		{"ALTER TABLE users ALTER COLUMN role TYPE text;", true},
		{"CREATE TABLE IF NOT EXISTS users (id text);", false},
		{"ALTER TABLE users ADD COLUMN note text;", false},
		{"CREATE INDEX idx_dropped_at ON t (dropped_at);", false},
	}
	for _, tt := range tests {
		if got := destructive.MatchString(tt.sql); got != tt.want {
			t.Errorf("destructive(%q) = %v, want %v", tt.sql, got, tt.want)
		}
	}
}
