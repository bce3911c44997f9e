package migrations

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Status is the state of one version, for `migrate status`, readiness checks
// and start-up decisions.
type Status struct {
	Version   string
	Applied   bool
	AppliedAt time.Time     // zero unless Applied
	Duration  time.Duration // how long applying took; zero unless Applied
	// Checksum is the one recorded in the database when Applied, otherwise
	// the file's.
	Checksum string
	// Changed: applied, but the file's checksum no longer matches (see
	// ErrChecksumMismatch).
	Changed bool
	// Missing: recorded in the database but no file in this release, e.g.
	// applied by a newer release before a rollback. Not an error.
	Missing bool
}

// Status reports every version known from the files or the database, ordered
// by number. It neither creates nor changes anything.
func (r *Runner) Status(ctx context.Context) ([]Status, error) {
	files, records, err := r.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(files)+len(records))
	known := make(map[string]bool, len(files))
	for _, m := range files {
		known[m.version] = true
		s := Status{Version: m.version, Checksum: m.checksum}
		if rec, ok := records[m.version]; ok {
			s.Applied, s.AppliedAt, s.Duration = true, rec.appliedAt, rec.duration
			s.Checksum, s.Changed = rec.checksum, rec.checksum != m.checksum
		}
		out = append(out, s)
	}
	for version, rec := range records {
		if !known[version] {
			out = append(out, Status{Version: version, Applied: true, AppliedAt: rec.appliedAt,
				Duration: rec.duration, Checksum: rec.checksum, Missing: true})
		}
	}
	slices.SortFunc(out, func(a, b Status) int {
		an, aok := versionNumber(a.Version)
		bn, bok := versionNumber(b.Version)
		if aok != bok { // well-named versions first
			if aok {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(an, bn), strings.Compare(a.Version, b.Version))
	})
	return out, nil
}

// Pending counts the files not applied yet; readiness reports not ready while
// it is above zero.
func (r *Runner) Pending(ctx context.Context) (int, error) {
	files, records, err := r.snapshot(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range files {
		if _, ok := records[m.version]; !ok {
			n++
		}
	}
	return n, nil
}

// Verify checks that no applied file has changed, without applying anything;
// for instances started with migrations disabled. The error wraps one
// *ChecksumError per changed file and matches ErrChecksumMismatch.
func (r *Runner) Verify(ctx context.Context) error {
	files, records, err := r.snapshot(ctx)
	if err != nil {
		return err
	}
	return checkChecksums(files, records)
}

// PrintStatus writes statuses as a table for `migrate status`.
func PrintStatus(w io.Writer, statuses []Status) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT\tDURATION\tCHECKSUM")
	for _, s := range statuses {
		state, at, took := "pending", "-", "-"
		switch {
		case s.Changed:
			state = "CHANGED"
		case s.Missing:
			state = "applied, no file"
		case s.Applied:
			state = "applied"
		}
		if s.Applied {
			at = s.AppliedAt.UTC().Format(time.RFC3339)
			took = s.Duration.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Version, state, at, took, short(s.Checksum))
	}
	return tw.Flush()
}
