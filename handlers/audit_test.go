package handlers_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/internal/testenv"
)

type auditItem struct {
	ID           int64          `json:"id"`
	UserID       string         `json:"user_id"`
	Role         string         `json:"role"`
	Action       string         `json:"action"`
	ResourceType string         `json:"resource_type"`
	ResourceID   string         `json:"resource_id"`
	Details      map[string]any `json:"details"`
	RequestID    string         `json:"request_id"`
	ClientIP     string         `json:"client_ip"`
	CreatedAt    time.Time      `json:"created_at"`
}

type auditPage struct {
	Items      []auditItem `json:"items"`
	NextCursor *string     `json:"next_cursor"`
}

func listAudit(t *testing.T, srv *testenv.Server, token string, q url.Values) auditPage {
	t.Helper()
	var p auditPage
	srv.Get(t, "/api/v1/audit?"+q.Encode(), token).WantStatus(t, http.StatusOK).JSON(t, &p)
	return p
}

// walkAudit follows next_cursor to the end and returns every item.
func walkAudit(t *testing.T, srv *testenv.Server, token string, q url.Values) ([]auditItem, int) {
	t.Helper()
	var all []auditItem
	pages := 0
	for {
		p := listAudit(t, srv, token, q)
		pages++
		all = append(all, p.Items...)
		if p.NextCursor == nil {
			return all, pages
		}
		if *p.NextCursor == "" || pages > 100 {
			t.Fatalf("bad next_cursor %v after %d pages", p.NextCursor, pages)
		}
		q.Set("cursor", *p.NextCursor)
	}
}

func ids(items []auditItem) []int64 {
	out := []int64{}
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func TestAuditListing(t *testing.T) {
	srv := testenv.Quick(t)
	// Activity: 3 failed logins, 4 successful ones, one logout. The wrong
	// passwords hold letters no hex id (token_id, principal_id) can contain.
	for _, pw := range []string{"nope-1", "nope-2"} {
		authLogin(t, srv, "operator", pw).WantStatus(t, http.StatusUnauthorized)
	}
	authLogin(t, srv, "ghost", "nope-3").WantStatus(t, http.StatusUnauthorized)
	dev := srv.Token(t, "developer")
	srv.Token(t, "operator")
	srv.Post(t, "/api/v1/auth/logout", dev, nil).WantStatus(t, http.StatusOK)
	admin := srv.Token(t, "admin")
	adminID := srv.Get(t, "/api/v1/auth/me", admin).Map(t)["user_id"].(string)

	all := listAudit(t, srv, admin, url.Values{})
	if all.NextCursor != nil {
		t.Fatalf("one page expected, got next_cursor %q", *all.NextCursor)
	}
	gotActions := []string{}
	for _, it := range all.Items {
		gotActions = append(gotActions, it.Action)
	}
	wantActions := []string{"auth.login.success", "auth.logout", "auth.login.success", "auth.login.success",
		"auth.login.fail", "auth.login.fail", "auth.login.fail"}
	if diff := cmp.Diff(wantActions, gotActions); diff != "" {
		t.Fatalf("actions newest first (-want +got):\n%s", diff)
	}
	for i := 1; i < len(all.Items); i++ {
		a, b := all.Items[i-1], all.Items[i]
		if a.CreatedAt.Before(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.ID < b.ID) {
			t.Errorf("items %d and %d are not newest first", a.ID, b.ID)
		}
	}
	for _, it := range all.Items {
		if it.RequestID == "" || it.ClientIP == "" || it.Details == nil {
			t.Errorf("entry %+v lacks request_id, client_ip or details", it)
		}
		if strings.Contains(string(authJSON(t, it)), "nope-") {
			t.Errorf("entry %d holds a password: %+v", it.ID, it)
		}
	}
	fail := all.Items[len(all.Items)-1]
	if fail.Details["reason"] != "wrong_password" || fail.Details["username"] != "operator" {
		t.Errorf("oldest failure details = %v", fail.Details)
	}
	if ghost := all.Items[4]; ghost.Details["reason"] != "unknown_user" || ghost.UserID != "" {
		t.Errorf("unknown-user failure = %+v", ghost)
	}
	if first := all.Items[0]; first.UserID != adminID || first.Role != "admin" || first.ResourceType != "user" || first.ResourceID != adminID {
		t.Errorf("newest entry = %+v, want the admin's login", first)
	}

	pick := func(keep func(auditItem) bool) []int64 {
		var out []auditItem
		for _, it := range all.Items {
			if keep(it) {
				out = append(out, it)
			}
		}
		return ids(out)
	}
	mid := all.Items[3].CreatedAt
	filters := []struct {
		name string
		q    url.Values
		want []int64
	}{
		{"action", url.Values{"action": {"auth.login.fail"}}, pick(func(it auditItem) bool { return it.Action == "auth.login.fail" })},
		{"user_id", url.Values{"user_id": {adminID}}, pick(func(it auditItem) bool { return it.UserID == adminID })},
		{"resource", url.Values{"resource_type": {"token"}}, pick(func(it auditItem) bool { return it.ResourceType == "token" })},
		{"resource_id", url.Values{"resource_type": {"user"}, "resource_id": {adminID}}, pick(func(it auditItem) bool { return it.ResourceID == adminID })},
		{"since inclusive", url.Values{"since": {mid.Format(time.RFC3339Nano)}}, pick(func(it auditItem) bool { return !it.CreatedAt.Before(mid) })},
		{"until exclusive", url.Values{"until": {mid.Format(time.RFC3339Nano)}}, pick(func(it auditItem) bool { return it.CreatedAt.Before(mid) })},
		{"combined", url.Values{"action": {"auth.login.success"}, "until": {mid.Format(time.RFC3339Nano)}},
			pick(func(it auditItem) bool { return it.Action == "auth.login.success" && it.CreatedAt.Before(mid) })},
		{"nothing", url.Values{"action": {"no.such.action"}}, []int64{}},
	}
	for _, f := range filters {
		t.Run(f.name, func(t *testing.T) {
			got, _ := walkAudit(t, srv, admin, f.q)
			if diff := cmp.Diff(f.want, ids(got)); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("paging", func(t *testing.T) {
		got, pages := walkAudit(t, srv, admin, url.Values{"limit": {"2"}})
		if diff := cmp.Diff(ids(all.Items), ids(got)); diff != "" {
			t.Errorf("paged ids (-one page +pages):\n%s", diff)
		}
		if pages != 4 {
			t.Errorf("%d pages of 2 for 7 entries, want 4", pages)
		}
		// An exact multiple ends without an empty page.
		got, pages = walkAudit(t, srv, admin, url.Values{"limit": {"7"}})
		if len(got) != 7 || pages != 1 {
			t.Errorf("limit 7: %d items in %d pages, want 7 in 1", len(got), pages)
		}
		// Entries written while paging do not shift later pages.
		p := listAudit(t, srv, admin, url.Values{"limit": {"3"}})
		srv.Token(t, "observer")
		rest, _ := walkAudit(t, srv, admin, url.Values{"limit": {"3"}, "cursor": {*p.NextCursor}})
		if diff := cmp.Diff(ids(all.Items)[3:], ids(rest)); diff != "" {
			t.Errorf("pages after a concurrent write (-want +got):\n%s", diff)
		}
	})

	bad := []struct {
		name, query, field string
	}{
		{"garbage cursor", "cursor=not-a-cursor", "cursor"},
		{"since not RFC 3339", "since=yesterday", "since"},
		{"until before since", "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "until"},
		{"limit below 1", "limit=-1", "limit"},
		{"limit not a number", "limit=ten", ""},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			e := srv.Get(t, "/api/v1/audit?"+b.query, admin).WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
			if b.field != "" && !strings.Contains(string(authJSON(t, e.Details)), `"field":"`+b.field+`"`) {
				t.Errorf("details %v do not name %s", e.Details, b.field)
			}
		})
	}
	// Above 200 the page size is capped, as on /dlq and /budget/reservations
	// (services/audit tests the cap itself with more than 200 entries).
	now, _ := walkAudit(t, srv, admin, url.Values{})
	if big := listAudit(t, srv, admin, url.Values{"limit": {"1000"}}); !cmp.Equal(ids(now), ids(big.Items)) || big.NextCursor != nil {
		t.Errorf("limit=1000: ids %v, next %v; want every entry %v on one page", ids(big.Items), big.NextCursor, ids(now))
	}
	if !slices.IsSortedFunc(all.Items, func(a, b auditItem) int { return b.CreatedAt.Compare(a.CreatedAt) }) {
		t.Error("not sorted by created_at descending")
	}
}

func TestAdminConfigIsRedacted(t *testing.T) {
	secret := "a-very-secret-jwt-key-that-is-long-enough"
	srv := testenv.Quick(t, "JWT_SECRET", secret, "METRICS_BEARER_TOKEN", "metrics-secret-token")
	r := srv.Get(t, "/api/v1/admin/config", srv.Token(t, "admin")).WantStatus(t, http.StatusOK)
	body := string(r.Body)
	for _, leak := range []string{secret, "metrics-secret-token", "admin123"} {
		if strings.Contains(body, leak) {
			t.Errorf("config leaks %q: %s", leak, body)
		}
	}
	m := r.Map(t)
	if m["JWT_SECRET"] != config.Masked || m["METRICS_BEARER_TOKEN"] != config.Masked || m["ADMIN_PASSWORD"] != "" ||
		m["JWT_ISSUER"] != srv.Config.JWTIssuer || m["RATE_LIMIT_LOGIN"] != srv.Config.RateLimits.Login.String() {
		t.Errorf("config = %v", m)
	}
}
