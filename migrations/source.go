package migrations

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// migration is one SQL file as found in the file system.
type migration struct {
	number   uint64 // numeric prefix; decides the order
	version  string // file name without ".sql", the key in schema_migrations
	file     string // file name, for messages
	sql      string
	checksum string // hex SHA-256 of the file bytes
}

// loadMigrations reads every *.sql file at the root of fsys, sorted by numeric
// prefix. A .sql file with a malformed name, or two files sharing a number, is
// an error rather than something to skip: a silently ignored file is a schema
// change that never happens. Other files (such as a README) are ignored.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations: list files: %w", err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		number, err := parseNumber(name)
		if err != nil {
			return nil, err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("migration %s: read: %w", name, err)
		}
		out = append(out, migration{
			number:   number,
			version:  strings.TrimSuffix(name, ".sql"),
			file:     name,
			sql:      string(body),
			checksum: checksum(body),
		})
	}
	slices.SortFunc(out, func(a, b migration) int {
		return cmp.Or(cmp.Compare(a.number, b.number), strings.Compare(a.version, b.version))
	})
	for i := 1; i < len(out); i++ {
		if out[i].number == out[i-1].number {
			return nil, fmt.Errorf("migrations %s and %s share the number %d: renumber the newer one",
				out[i-1].file, out[i].file, out[i].number)
		}
	}
	return out, nil
}

// parseNumber returns the numeric prefix of a file named NNNN_name.sql, where
// name is made of letters, digits, '_' and '-'.
func parseNumber(file string) (uint64, error) {
	bad := func(why string) error {
		return fmt.Errorf("migration %s: file name must look like 0001_name.sql: %s", file, why)
	}
	digits, name, ok := strings.Cut(strings.TrimSuffix(file, ".sql"), "_")
	if !ok || digits == "" || name == "" {
		return 0, bad("missing number or name")
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, bad("prefix is not a number")
		}
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return 0, bad(fmt.Sprintf("unexpected character %q", c))
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, bad(err.Error())
	}
	return n, nil
}

// versionNumber orders versions known only from the database; ok is false for
// a version that does not follow the naming rule.
func versionNumber(version string) (n uint64, ok bool) {
	n, err := parseNumber(version + ".sql")
	return n, err == nil
}

// checksum is the hex SHA-256 of a file, as stored in schema_migrations.
func checksum(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
