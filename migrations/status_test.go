package migrations

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPrintStatus(t *testing.T) {
	at := time.Date(2025, 11, 26, 14, 37, 0, 0, time.UTC)
	sum := checksum([]byte("x"))
	var b strings.Builder
	err := PrintStatus(&b, []Status{
		{Version: "0001_audit_log", Applied: true, AppliedAt: at, Duration: 12 * time.Millisecond, Checksum: sum},
		{Version: "0002_users", Applied: true, AppliedAt: at, Duration: time.Millisecond, Checksum: sum, Changed: true},
		{Version: "0003_budget", Checksum: sum},
		{Version: "0004_dlq", Applied: true, AppliedAt: at, Checksum: sum, Missing: true},
	})
	if err != nil {
		t.Fatalf("PrintStatus: %v", err)
	}
	want := `VERSION         STATE             APPLIED AT            DURATION  CHECKSUM
0001_audit_log  applied           2025-11-26T14:37:00Z  12ms      2d711642b726…
0002_users      CHANGED           2025-11-26T14:37:00Z  1ms       2d711642b726…
0003_budget     pending           -                     -         2d711642b726…
0004_dlq        applied, no file  2025-11-26T14:37:00Z  0s        2d711642b726…
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}
