package migrations

import (
	"errors"
	"fmt"
)

// ErrChecksumMismatch reports that a migration file was edited after it was
// applied. The database already has the old content, so the service must not
// start until the file is restored and the change moved into a new file.
var ErrChecksumMismatch = errors.New("migration checksum changed since it was applied")

// ChecksumError names the changed file and both checksums; it matches
// ErrChecksumMismatch with errors.Is.
type ChecksumError struct {
	File   string // file name, e.g. 0001_audit_log.sql
	Stored string // checksum recorded when the file was applied
	Actual string // checksum of the file now
}

// Error says which file changed, with short checksums to tell the versions apart.
func (e *ChecksumError) Error() string {
	return fmt.Sprintf("migration %s: checksum changed since it was applied (stored %s, file %s)",
		e.File, short(e.Stored), short(e.Actual))
}

// Is makes errors.Is(err, ErrChecksumMismatch) true.
func (e *ChecksumError) Is(target error) bool { return target == ErrChecksumMismatch }

// short abbreviates a hex checksum for messages and the status table.
func short(sum string) string {
	const n = 12
	if len(sum) <= n {
		return sum
	}
	return sum[:n] + "…"
}
