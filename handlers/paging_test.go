package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"testing"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// TestListsShareOnePagingRule: every list answers next_cursor on every page,
// a string while more items follow and null on the last page, and parses
// since/until the same way.
func TestListsShareOnePagingRule(t *testing.T) {
	srv := testenv.Quick(t)
	admin := srv.Token(t, "admin")
	srv.Token(t, "operator") // a second audit entry
	for _, task := range []string{"a", "b"} {
		srv.Post(t, "/api/v1/budget/request", admin, map[string]any{
			"tenant_id": "t1", "project_id": "p1", "task_id": task, "model": "m", "estimated_tokens": 10,
		}).WantStatus(t, http.StatusOK)
	}
	for _, tc := range []struct {
		path      string
		wantItems int // at least
		timeRange bool
	}{
		{"/api/v1/audit", 2, true},
		{"/api/v1/budget/reservations", 2, false},
		{"/api/v1/dlq", 0, true},
	} {
		t.Run(tc.path, func(t *testing.T) {
			cursor, items := "", 0
			for page := 0; ; page++ {
				q := url.Values{"limit": {"1"}}
				if cursor != "" {
					q.Set("cursor", cursor)
				}
				var body struct {
					Items      []json.RawMessage `json:"items"`
					NextCursor json.RawMessage   `json:"next_cursor"`
				}
				srv.Get(t, tc.path+"?"+q.Encode(), admin).WantStatus(t, http.StatusOK).JSON(t, &body)
				items += len(body.Items)
				if body.NextCursor == nil {
					t.Fatalf("page %d has no next_cursor key", page)
				}
				if string(body.NextCursor) == "null" {
					break
				}
				if err := json.Unmarshal(body.NextCursor, &cursor); err != nil || cursor == "" {
					t.Fatalf("page %d: next_cursor = %s, want a string or null", page, body.NextCursor)
				}
				if page > 100 {
					t.Fatal("paging does not end")
				}
			}
			if items < tc.wantItems {
				t.Errorf("%d items over all pages, want at least %d", items, tc.wantItems)
			}
			if !tc.timeRange {
				return
			}
			srv.Get(t, tc.path+"?since=2026-01-02T15:04:05.123456789Z&until=2126-01-02T15:04:05Z", admin).WantStatus(t, http.StatusOK)
			e := srv.Get(t, tc.path+"?since=yesterday&until=2026-13-01T00:00:00Z", admin).
				WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
			var fields []string
			for _, f := range e.Details["errors"].([]any) {
				fields = append(fields, f.(map[string]any)["field"].(string))
			}
			sort.Strings(fields)
			if len(fields) != 2 || fields[0] != "since" || fields[1] != "until" {
				t.Errorf("failed fields = %v, want since and until", fields)
			}
		})
	}
}
