package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/auth"
)

type tenantBody struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TestTenantsAPI: create, read, rename and list as the platform admin, with
// the stored rows and the audit entries of each change.
func TestTenantsAPI(t *testing.T) {
	srv := testenv.Quick(t)
	admin := srv.Token(t, "admin")
	db := srv.App.DB().DB

	r := srv.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/tenants", Token: admin,
		Body: map[string]any{"id": "acme", "name": "Acme Corp"}, Header: map[string]string{"X-Request-ID": "tenant-create-1"}})
	r.WantStatus(t, http.StatusCreated)
	var created tenantBody
	r.JSON(t, &created)
	if created.ID != "acme" || created.Name != "Acme Corp" || time.Since(created.CreatedAt) > time.Minute || !created.UpdatedAt.Equal(created.CreatedAt) {
		t.Errorf("created = %+v", created)
	}
	var row models.Tenant
	if err := db.Where("id = ?", "acme").Take(&row).Error; err != nil || row.Name != "Acme Corp" {
		t.Errorf("stored = %+v, %v", row, err)
	}

	srv.Post(t, "/api/v1/tenants", admin, map[string]any{"id": "acme"}).WantError(t, http.StatusConflict, "state.conflict")
	for _, body := range []map[string]any{{"id": "Acme"}, {"id": "a b"}, {"id": ""}, {"name": "no id"}, {"id": strings.Repeat("a", 65)}, {"id": "ok", "name": "a\tb"}} {
		srv.Post(t, "/api/v1/tenants", admin, body).WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	}

	var got tenantBody
	srv.Get(t, "/api/v1/tenants/acme", admin).WantStatus(t, http.StatusOK).JSON(t, &got)
	if diff := cmp.Diff(created, got); diff != "" {
		t.Errorf("GET (-created +got):\n%s", diff)
	}
	srv.Get(t, "/api/v1/tenants/nowhere", admin).WantError(t, http.StatusNotFound, "resource.not_found")

	patch := func(id string, body any) *testenv.Response {
		return srv.Send(t, testenv.Request{Method: http.MethodPatch, Path: "/api/v1/tenants/" + id, Token: admin, Body: body})
	}
	var renamed tenantBody
	patch("acme", map[string]any{"name": "Acme Corporation"}).WantStatus(t, http.StatusOK).JSON(t, &renamed)
	if renamed.Name != "Acme Corporation" || !renamed.CreatedAt.Equal(created.CreatedAt) || renamed.UpdatedAt.Before(created.UpdatedAt) {
		t.Errorf("renamed = %+v", renamed)
	}
	patch("acme", map[string]any{"name": "Acme Corporation"}).WantStatus(t, http.StatusOK) // no change, no audit entry
	patch("acme", map[string]any{}).WantStatus(t, http.StatusOK)
	patch("acme", map[string]any{"name": " "}).WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
	patch("nowhere", map[string]any{"name": "x"}).WantError(t, http.StatusNotFound, "resource.not_found")

	var entries []models.AuditEntry
	db.Where("resource_type = ?", "tenant").Order("id").Find(&entries)
	me := srv.Get(t, "/api/v1/auth/me", admin).WantStatus(t, http.StatusOK).Map(t)
	type entry struct{ Action, ResourceID, PrincipalID, TenantID, Role string }
	var gotEntries []entry
	for _, e := range entries {
		gotEntries = append(gotEntries, entry{e.Action, e.ResourceID, e.PrincipalID, e.TenantID, e.Role})
	}
	principal := me["principal_id"].(string)
	want := []entry{{"tenant.create", "acme", principal, "", "admin"}, {"tenant.update", "acme", principal, "", "admin"}}
	if diff := cmp.Diff(want, gotEntries); diff != "" {
		t.Errorf("audit entries (-want +got):\n%s", diff)
	}
	if len(entries) == 2 {
		if entries[0].RequestID != "tenant-create-1" || entries[0].Details["name"] != "Acme Corp" {
			t.Errorf("tenant.create entry = %+v", entries[0])
		}
		if entries[1].Details["old_name"] != "Acme Corp" || entries[1].Details["name"] != "Acme Corporation" {
			t.Errorf("tenant.update details = %v", entries[1].Details)
		}
	}

	srv.Post(t, "/api/v1/tenants", admin, map[string]any{"id": "globex"}).WantStatus(t, http.StatusCreated)
	var ids []string
	path := "/api/v1/tenants?limit=1"
	for range 10 {
		var page struct {
			Items      []tenantBody `json:"items"`
			NextCursor *string      `json:"next_cursor"`
		}
		srv.Get(t, path, admin).WantStatus(t, http.StatusOK).JSON(t, &page)
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if page.NextCursor == nil {
			break
		}
		path = "/api/v1/tenants?limit=1&cursor=" + *page.NextCursor
	}
	// Newest first; "default" was created at start for DEFAULT_TENANT.
	if diff := cmp.Diff([]string{"globex", "acme", "default"}, ids); diff != "" {
		t.Errorf("listed ids (-want +got):\n%s", diff)
	}
}

// TestTenantsArePlatformLevel: the tenants API needs system.admin and an
// account bound to no tenant; a refused call changes nothing.
func TestTenantsArePlatformLevel(t *testing.T) {
	srv := testenv.Quick(t)
	tenantAdmin := addUser(t, srv, "acme-admin", auth.RoleAdmin, "acme")
	operator := srv.Token(t, "operator")
	for _, req := range []testenv.Request{
		{Method: http.MethodGet, Path: "/api/v1/tenants"},
		{Method: http.MethodPost, Path: "/api/v1/tenants", Body: map[string]any{"id": "sneaky"}},
		{Method: http.MethodGet, Path: "/api/v1/tenants/acme"},
		{Method: http.MethodPatch, Path: "/api/v1/tenants/acme", Body: map[string]any{"name": "Mine now"}},
	} {
		req.Token = tenantAdmin
		e := srv.Send(t, req).WantError(t, http.StatusForbidden, "auth.forbidden")
		if e.Details["tenant_id"] != "acme" {
			t.Errorf("%s %s as acme's admin: details %v, want tenant_id acme", req.Method, req.Path, e.Details)
		}
		req.Token = operator
		srv.Send(t, req).WantError(t, http.StatusForbidden, "auth.forbidden")
	}
	var row models.Tenant
	srv.App.DB().Where("id = ?", "acme").Take(&row)
	if n := budgetCountRows(t, srv.App.DB().DB, "tenants", "id = 'sneaky'"); n != 0 || row.Name != "acme" {
		t.Errorf("refused calls changed tenants: sneaky rows %d, acme named %q", n, row.Name)
	}
}
