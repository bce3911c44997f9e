package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// storedKey is the part of GET /api/v1/keys/{id} the console test checks.
type storedKey struct {
	ID                string  `json:"id"`
	Name              string  `json:"name"`
	Role              string  `json:"role"`
	TenantID          *string `json:"tenant_id"`
	ProjectID         *string `json:"project_id"`
	RateLimit         *string `json:"rate_limit"`
	TokensPerMinute   *int64  `json:"tokens_per_minute"`
	Status            string  `json:"status"`
	RotatedAt         *string `json:"rotated_at"`
	PreviousExpiresAt *string `json:"previous_expires_at"`
}

// key reads a key over the API as the admin.
func (c *console) key(id string) storedKey {
	c.t.Helper()
	var k storedKey
	c.srv.Get(c.t, "/api/v1/keys/"+id, c.srv.Token(c.t, "admin")).WantStatus(c.t, http.StatusOK).JSON(c.t, &k)
	return k
}

// keysSettled waits until the keys list is not loading and shows the
// key of that id (a list rendered later would replace the row under a
// click).
func keysSettled(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](fmt.Sprintf(`(() => {
		const list = document.querySelector("section[aria-labelledby=keys-title]");
		return list?.getAttribute("aria-busy") === "false" && !!document.querySelector('tr[data-id=%q]');
	})()`, id))
}

// keyAction presses the row's button (rotate or revoke) of a key until its
// confirmation dialog is open: in the page, on the row of the settled list,
// so a list rendered in between cannot take the node from under the click.
func (c *console) keyAction(id, action string) {
	c.t.Helper()
	c.do(action+" key "+id,
		keysSettled(id),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`(() => {
			if (document.querySelector("dialog[open] button.confirm")) return true;
			const list = document.querySelector("section[aria-labelledby=keys-title]");
			const button = document.querySelector('tr[data-id=%q] button.%s');
			if (button && list?.getAttribute("aria-busy") === "false") button.click();
			return false;
		})()`, id, action)),
	)
}

// readSecret reads the secret of the dialog shown after a create or a
// rotation, checks its warning, and closes it.
func (c *console) readSecret(what string) (secret, text string) {
	c.t.Helper()
	c.do("wait for the secret of "+what, chromedp.WaitVisible(chromedp.CSS(`dialog[open].secret-dialog input.secret`)))
	secret = get(c.page, "read the secret", chromedp.Evaluate[string](`document.querySelector("dialog[open] input.secret").value`))
	text = get(c.page, "read the dialog", chromedp.Text(chromedp.CSS(`dialog[open].secret-dialog`)))
	if !strings.HasPrefix(secret, "gak_") || !strings.Contains(text, "it will not be shown again") {
		c.t.Errorf("the dialog of %s shows secret %q and says %q, want a gak_ secret and that it will not be shown again", what, secret, text)
	}
	return secret, text
}

// closeSecret closes the secret dialog with its button.
func (c *console) closeSecret() {
	c.t.Helper()
	c.do("close the secret dialog",
		chromedp.Click(chromedp.CSS(`dialog[open].secret-dialog button.secondary`)),
		chromedp.WaitNotPresent(chromedp.CSS(`dialog`)),
	)
}

// apiKeys: the admin creates a key of the tenant "default" bound to a
// project in the page, reads its secret from the dialog once and calls the
// API with it (GET /auth/me, a chat completion through the fake provider,
// which the budgets page then shows as usage by model); rotates it with a
// grace period (both secrets work); revokes it, and both are refused.
func (c *console) apiKeys(fake *testenv.FakeOpenAI) {
	t := c.t
	t.Helper()
	n := strings.ToLower(fmt.Sprint(time.Now().UnixNano() % 1e9))
	name, project := "console-ci-"+n, "console-keys-"+n
	admin := c.srv.Token(t, "admin")
	c.srv.Send(t, testenv.Request{Method: http.MethodPut, Path: "/api/v1/budget/limits", Token: admin,
		Body: map[string]any{"tenant_id": "default", "project_id": project, "total_limit": 100000}}).WantStatus(t, http.StatusOK)
	// A key the tenant's operator may not rotate (its role is above his).
	var adminKey storedKey
	c.srv.Post(t, "/api/v1/keys", admin, map[string]any{"name": "console-admin-" + n, "role": "admin", "tenant_id": "default"}).
		WantStatus(t, http.StatusCreated).JSON(t, &adminKey)
	c.adminKey = adminKey.ID

	c.goTo("#/keys", "API keys")
	c.do("list the keys", keysSettled(adminKey.ID))
	c.do("create a key",
		chromedp.SendKeys(chromedp.CSS(`form.create input[name=name]`), name),
		chromedp.SetValue(chromedp.CSS(`form.create select[name=role]`), "developer"),
		chromedp.SendKeys(chromedp.CSS(`form.create input[name=tenant_id]`), "default"),
		chromedp.SendKeys(chromedp.CSS(`form.create input[name=project_id]`), project),
		chromedp.SendKeys(chromedp.CSS(`form.create input[name=rate_limit]`), "600-M"),
		chromedp.SendKeys(chromedp.CSS(`form.create input[name=tokens_per_minute]`), "50000"),
		chromedp.Click(chromedp.CSS(`form.create button[type=submit]`)),
	)
	secret, _ := c.readSecret("the new key")
	c.accessible("new key's secret dialog")
	c.shot("keys-secret")
	c.closeSecret()

	var me struct {
		Role     string  `json:"role"`
		TenantID *string `json:"tenant_id"`
	}
	c.srv.Get(t, "/api/v1/auth/me", secret).WantStatus(t, http.StatusOK).JSON(t, &me)
	if me.Role != "developer" || me.TenantID == nil || *me.TenantID != "default" {
		t.Errorf("GET /auth/me with the key = %+v, want role developer in the tenant default", me)
	}
	c.srv.Post(t, "/api/v1/chat/completions", secret, map[string]any{"model": "fake-mini", "max_tokens": 64,
		"messages": []map[string]string{{"role": "user", "content": "Say hello"}}}).WantStatus(t, http.StatusOK)
	if fake.Calls() != 1 {
		t.Errorf("the fake provider saw %d calls, want 1", fake.Calls())
	}

	id := get(c.page, "find the key's row", chromedp.Evaluate[string](fmt.Sprintf(
		`Array.from(document.querySelectorAll("tr[data-id]")).find(r => r.querySelector("th").textContent === %q)?.dataset.id || ""`, name)))
	if id == "" {
		t.Fatalf("the list shows no key named %s", name)
	}
	k := c.key(id)
	if k.Role != "developer" || k.TenantID == nil || *k.TenantID != "default" || k.ProjectID == nil || *k.ProjectID != project ||
		k.RateLimit == nil || *k.RateLimit != "600-M" || k.TokensPerMinute == nil || *k.TokensPerMinute != 50000 || k.Status != "active" {
		t.Errorf("stored key %+v, want an active developer key of default/%s limited to 600-M and 50000 tokens a minute", k, project)
	}
	row := get(c.page, "read the row", chromedp.Text(chromedp.CSS(`tr[data-id="`+id+`"]`)))
	if !strings.Contains(row, secret[:8]+"…"+secret[len(secret)-4:]) || !strings.Contains(row, "default / "+project) ||
		!strings.Contains(row, "50,000 tokens/min") {
		t.Errorf("row %q, want the prefix…last four of the secret, default / %s and 50,000 tokens/min", row, project)
	}

	c.keyAction(id, "rotate")
	c.do("rotate with an hour of grace",
		chromedp.SetValue(chromedp.CSS(`dialog[open] select[name=grace_seconds]`), "3600"),
		chromedp.Click(chromedp.CSS(`dialog[open] button.confirm`)),
	)
	rotated, text := c.readSecret("the rotated key")
	if rotated == secret || !strings.Contains(text, "The old secret keeps working until") {
		t.Errorf("after the rotation the dialog shows %q (%q), want a new secret and the grace period", rotated, text)
	}
	c.closeSecret()
	for who, s := range map[string]string{"the new secret": rotated, "the old secret in its grace": secret} {
		if got := c.srv.Get(t, "/api/v1/auth/me", s).Status; got != http.StatusOK {
			t.Errorf("GET /auth/me with %s = %d, want 200", who, got)
		}
	}
	if k := c.key(id); k.RotatedAt == nil || k.PreviousExpiresAt == nil {
		t.Errorf("stored key after the rotation %+v, want rotated_at and previous_expires_at", k)
	}

	c.do("rows settled", keysSettled(id))
	c.accessible("API keys page")
	c.shot("keys")
	const phone = 390
	c.do("phone width", chromedp.EmulateViewport(phone, 844, chromedp.EmulateMobile))
	if w := get(c.page, "measure the page", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > phone {
		t.Errorf("at phone width the API keys page is %d px wide, want at most %d", w, phone)
	}
	c.accessible("API keys page at phone width")
	c.do("desktop width", chromedp.EmulateViewport(1280, 1000))

	c.keyAction(id, "revoke")
	c.do("revoke",
		chromedp.Click(chromedp.CSS(`dialog[open] button.confirm`)),
		chromedp.WaitNotPresent(chromedp.CSS(`dialog`)),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector('tr[data-id=%q]')?.dataset.status === "revoked"`, id)),
	)
	if n := get(c.page, "count the revoked key's controls", chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll('tr[data-id=%q] .write').length`, id))); n != 0 {
		t.Errorf("a revoked key shows %d controls, want none", n)
	}
	for who, s := range map[string]string{"the revoked key": rotated, "the revoked key's old secret": secret} {
		if got := c.srv.Get(t, "/api/v1/auth/me", s); got.Status != http.StatusUnauthorized {
			t.Errorf("GET /auth/me with %s = %d %s, want 401", who, got.Status, got.Body)
		}
	}
	if k := c.key(id); k.Status != "revoked" {
		t.Errorf("stored status %q after the revoke, want revoked", k.Status)
	}
	c.usage(project)
}

// usage: the budgets page shows the key's gateway call as usage by model
// of its project (the fake provider reports 10 prompt and 7 completion
// tokens).
func (c *console) usage(project string) {
	t := c.t
	t.Helper()
	c.goTo("#/budgets", "Budgets")
	c.do("show the key's project",
		clear(`input[name=tenant_id]`),
		chromedp.SendKeys(chromedp.CSS(`input[name=tenant_id]`), "default"),
		clear(`input[name=project_id]`),
		chromedp.SendKeys(chromedp.CSS(`input[name=project_id]`), project),
		chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.usage tr[data-model="fake-mini"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector("section[aria-labelledby=usage-title]")?.getAttribute("aria-busy") === "false"`),
	)
	cells := get(c.page, "read the usage", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('table.usage tbody tr')).map(r => Array.from(r.cells).map(c => c.textContent).join("|"))`))
	if want := []string{"fake-mini|1|10|7|17|$0.000024"}; !slices.Equal(cells, want) {
		t.Errorf("usage by model shows %q, want %q", cells, want)
	}
	c.accessible("budgets page with usage")
	c.shot("budgets")
}

// operatorKeys: the tenant's operator sees the tenant's keys, may create
// keys of its role and below, and the server's 403 on rotating a key of
// the admin role is shown with its message and request id.
func (c *console) operatorKeys() {
	t := c.t
	t.Helper()
	c.goTo("#/keys", "API keys")
	c.do("list the tenant's keys", keysSettled(c.adminKey))
	if got, want := get(c.page, "read the roles", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("form.create select[name=role] option")).map(o => o.value)`)),
		[]string{"operator", "developer", "observer"}; !slices.Equal(got, want) {
		t.Errorf("operator may create keys of roles %v, want %v", got, want)
	}
	if tenant := get(c.page, "read the tenant field", chromedp.Evaluate[[]string](`[document.querySelector("form.create input[name=tenant_id]").value, String(document.querySelector("form.create input[name=tenant_id]").readOnly)]`)); !slices.Equal(tenant, []string{"default", "true"}) {
		t.Errorf("operator's tenant field (value, read-only) = %v, want its own tenant, read-only", tenant)
	}
	c.keyAction(c.adminKey, "rotate")
	c.do("rotate the admin's key",
		chromedp.Click(chromedp.CSS(`dialog[open] button.confirm`)),
		chromedp.WaitVisible(chromedp.CSS(`.outcome .error .request-id code`)),
	)
	if got := get(c.page, "read the error", chromedp.Text(chromedp.CSS(`.outcome .error`))); !strings.Contains(got, "403 auth.forbidden") || !strings.Contains(got, "role operator may not rotate a key of role admin") {
		t.Errorf("error shown %q, want the server's 403 with its message and request id", got)
	}
	if k := c.key(c.adminKey); k.RotatedAt != nil || k.Status != "active" {
		t.Errorf("stored admin key %+v, want it neither rotated nor revoked", k)
	}
}
