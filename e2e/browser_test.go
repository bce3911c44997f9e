package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// Where the last screenshots are also kept for people to look at after the
// run.
const (
	screenshotCopy   = "/tmp/swagger-e2e.png"
	meScreenshotCopy = "/tmp/swagger-e2e-me.png"
)

// chromium finds a Chromium or Chrome binary: $CHROMIUM_PATH, Debian's
// /usr/bin/chromium, or one on PATH.
func chromium() string {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser starts a headless Chromium with a fresh profile; it is closed
// when ctx ends.
func browser(ctx context.Context, t *testing.T, execPath string) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	return bctx
}

// spec is what the test needs from the committed API description.
type spec struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Title string `json:"title"`
	} `json:"info"`
	Paths map[string]map[string]struct {
		OperationID string   `json:"operationId"`
		Tags        []string `json:"tags"`
	} `json:"paths"`
}

func loadSpec(t *testing.T) spec {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "docs", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s spec
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// opblock is the Swagger UI element of one operation: its id is
// "operations-<first tag>-<operationId>".
func (s spec) opblock(t *testing.T, method, path string) string {
	t.Helper()
	op, ok := s.Paths[path][strings.ToLower(method)]
	if !ok || op.OperationID == "" || len(op.Tags) == 0 {
		t.Fatalf("docs/openapi.json has no %s %s with an operationId and a tag", method, path)
	}
	return fmt.Sprintf("#operations-%s-%s", op.Tags[0], op.OperationID)
}

// TestSwaggerUILoginAndAuthorize is the path of a developer new to the API:
// open /docs (the OpenAPI 3.1 document), log in with "Try it out", paste the
// raw token into "Authorize" (the http bearer scheme adds "Bearer "), call
// GET /api/v1/auth/me, reload the page and still be authorized.
func TestSwaggerUILoginAndAuthorize(t *testing.T) {
	execPath := chromium()
	if execPath == "" {
		t.Skip("no Chromium found (apt-get install chromium, or set CHROMIUM_PATH): browser test skipped")
	}
	want := loadSpec(t)
	srv := testenv.Quick(t)

	// The whole browser session ends after 4 min (a loaded CI machine under
	// -race is slow); the steps after 230 s, which
	// leaves the browser alive to take a screenshot of a step that hung.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	b := &page{t: t, browser: browser(ctx, t, execPath)}
	if err := chromedp.Do(b.browser); err != nil { // start the browser
		t.Fatalf("start %s: %v", execPath, err)
	}
	var cancelSteps context.CancelFunc
	b.steps, cancelSteps = context.WithTimeout(b.browser, 230*time.Second)
	defer cancelSteps()

	// 1. The UI lists every operation, under the service's name and version.
	b.do("open /docs",
		chromedp.Navigate(srv.HTTP.URL+"/docs"),
		chromedp.WaitVisible(chromedp.CSS(`.information-container .info .title`)),
		chromedp.WaitVisible(chromedp.CSS(`.opblock`)),
	)
	title := get(b, "read the title", chromedp.Text(chromedp.CSS(`.information-container .info .title`)))
	if !strings.Contains(title, want.Info.Title) || !strings.Contains(title, "test") {
		t.Errorf("UI title %q, want the service name %q and the build version %q", title, want.Info.Title, "test")
	}
	// The UI read the document as OpenAPI 3.1 (its version stamp says so).
	if stamp := get(b, "read the version stamp", chromedp.Text(chromedp.CSS(`.information-container .info .title .version-stamp`))); !strings.Contains(stamp, "OAS 3.1") || want.OpenAPI != "3.1.0" {
		t.Errorf("UI version stamp %q for a document of openapi %q, want OAS 3.1", stamp, want.OpenAPI)
	}
	if tab := get(b, "read the tab title", chromedp.Title()); !strings.Contains(tab, want.Info.Title) {
		t.Errorf("tab title %q, want the service name %q", tab, want.Info.Title)
	}
	listed := get(b, "list the operations", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.opblock')).map(e =>
		e.querySelector('.opblock-summary-method').innerText.trim() + ' ' +
		e.querySelector('.opblock-summary-path').getAttribute('data-path'))`))
	var documented []string
	for p, ops := range want.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+p)
		}
	}
	slices.Sort(listed)
	slices.Sort(documented)
	if !slices.Equal(listed, documented) {
		t.Errorf("UI lists the operations\n%v\nwant those of docs/openapi.json\n%v", listed, documented)
	}

	// 2. Log in through "Try it out".
	login := want.opblock(t, "POST", "/api/v1/auth/login")
	body := login + ` textarea.body-param__text`
	b.do("log in with Try it out",
		tryItOut(login),
		chromedp.WaitVisible(chromedp.CSS(body)),
		selectAll(body), // typing replaces the example body
		chromedp.SendKeys(chromedp.CSS(body), `{"username":"admin","password":"admin123"}`),
		chromedp.Click(chromedp.CSS(login+` .execute`)),
	)
	status, answer := b.response(login)
	if status != "200" {
		t.Fatalf("login in the UI answered %s: %s", status, answer)
	}
	var session struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(answer), &session); err != nil || session.Token == "" {
		t.Fatalf("no token in the rendered login answer %q: %v", answer, err)
	}

	// 3. Authorize with the raw token, as the dialog asks, in the BearerAuth
	// form (the dialog also lists ApiKeyAuth, the X-API-Key header).
	bearer := `//div[contains(@class,"modal-ux")]//div[contains(@class,"auth-container")][.//h4[contains(.,"BearerAuth")]]`
	b.do("authorize",
		chromedp.Click(chromedp.CSS(`.auth-wrapper .authorize`)),
		chromedp.WaitVisible(chromedp.Search(bearer+`//input`)),
		chromedp.SendKeys(chromedp.Search(bearer+`//input`), session.Token),
		chromedp.Click(chromedp.Search(bearer+`//div[contains(@class,"auth-btn-wrapper")]//button[contains(@class,"authorize")]`)),
		chromedp.Click(chromedp.CSS(`.modal-ux .btn-done`)),
		chromedp.WaitNotPresent(chromedp.CSS(`.modal-ux`)),
		chromedp.WaitVisible(chromedp.CSS(`.auth-wrapper .authorize.locked`)),
	)

	// 4. Who am I, as the authorized user.
	me := want.opblock(t, "GET", "/api/v1/auth/me")
	callMe := func(step string) {
		t.Helper()
		b.do(step,
			tryItOut(me),
			chromedp.Click(chromedp.CSS(me+` .execute`)),
		)
		status, answer := b.response(me)
		var who struct {
			Username string `json:"username"`
		}
		if err := json.Unmarshal([]byte(answer), &who); status != "200" || err != nil || who.Username != "admin" {
			t.Fatalf("%s: GET /api/v1/auth/me in the UI answered %s %s, want 200 with username admin", step, status, answer)
		}
		curl := get(b, step+": read the curl command", chromedp.Text(chromedp.CSS(me+` .curl-command`)))
		if !strings.Contains(curl, "Authorization: Bearer "+session.Token) {
			t.Errorf("%s: the request the UI sent lacks the bearer token: %s", step, curl)
		}
	}
	callMe("GET /api/v1/auth/me after Authorize")

	// 5. The authorization survives a reload (persistAuthorization).
	// Load the page anew without the deep-link fragment, so the UI does not
	// expand the last operation itself while the test clicks it.
	b.do("reload",
		chromedp.Navigate(srv.HTTP.URL+"/docs/index.html"),
		chromedp.WaitVisible(chromedp.CSS(`.opblock`)),
		chromedp.WaitVisible(chromedp.CSS(`.auth-wrapper .authorize`)),
	)
	// The UI restores the authorization before it renders the button.
	locked := get(b, "read the Authorize button", chromedp.Evaluate[bool](
		`document.querySelector(".auth-wrapper .authorize").classList.contains("locked")`))
	stored := get(b, "read localStorage", chromedp.Evaluate[string](`localStorage.getItem("authorized") || ""`))
	if !locked || !strings.Contains(stored, "BearerAuth") || !strings.Contains(stored, session.Token) {
		t.Fatalf(`after a reload the authorization is gone: Authorize button locked = %v, localStorage "authorized" = %.200q (screenshot %s)`,
			locked, stored, b.screenshot("failure"))
	}
	callMe("GET /api/v1/auth/me after reload")

	t.Logf("screenshot: %s (copy at %s)", b.screenshot("swagger-e2e"), screenshotCopy)
	// The full page is tall; a picture of the answer alone is easier to read.
	if png, err := chromedp.Run(b.browser, chromedp.Screenshot(chromedp.CSS(me))); err == nil {
		path := filepath.Join(t.TempDir(), "swagger-e2e-me.png")
		if os.WriteFile(path, png, 0o644) == nil && os.WriteFile(meScreenshotCopy, png, 0o644) == nil {
			t.Logf("screenshot of GET /api/v1/auth/me: %s (copy at %s)", path, meScreenshotCopy)
		}
	}
}

// tryItOut expands an operation and switches it to "Try it out", clicking
// only what is not already so: after a reload the deep link of the last
// operation opens it again.
func tryItOut(op string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		// Right after a load the UI may still be expanding the deep-linked
		// operation itself, so a single click can race it and close the
		// block again: look, click only when closed, and look again.
		for {
			open, err := chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%s).classList.contains("is-open")`, mustJSON(op)))(ctx, t)
			if err != nil {
				return err
			}
			ready, err := chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%s) !== null`, mustJSON(op+` .try-out__btn`)))(ctx, t)
			if err != nil {
				return err
			}
			if open && ready {
				break
			}
			if !open {
				if _, err := chromedp.Click(chromedp.CSS(op+` .opblock-summary-control`))(ctx, t); err != nil {
					return err
				}
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
		}
		if _, err := chromedp.WaitVisible(chromedp.CSS(op+` .try-out__btn`))(ctx, t); err != nil {
			return err
		}
		active, err := chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%s).classList.contains("cancel")`, mustJSON(op+` .try-out__btn`)))(ctx, t)
		if err != nil || active {
			return err
		}
		_, err = chromedp.Click(chromedp.CSS(op+` .try-out__btn`))(ctx, t)
		return err
	})
}

func mustJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// selectAll focuses a text field and selects its content, as a person does
// before typing over it.
func selectAll(css string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const e = document.querySelector(%s); e.focus(); e.select(); return true })()`, mustJSON(css)))(ctx, t)
		return err
	})
}

// page is the browser tab of a test.
type page struct {
	t       *testing.T
	browser context.Context // lives as long as the browser
	steps   context.Context // bounds the steps
}

// do performs one step; on failure it keeps a screenshot of the page.
func (p *page) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.steps, actions...); err != nil {
		p.t.Fatalf("%s: %v (screenshot %s)", step, err, p.screenshot("failure"))
	}
}

// get runs an action that reads a value from the page.
func get[T any](p *page, step string, a chromedp.Action[T]) T {
	p.t.Helper()
	v, err := chromedp.Run(p.steps, a)
	if err != nil {
		p.t.Fatalf("%s: %v (screenshot %s)", step, err, p.screenshot("failure"))
	}
	return v
}

// response waits for the answer that Swagger UI renders under an executed
// operation and returns its status and body.
func (p *page) response(op string) (status, body string) {
	p.t.Helper()
	row := op + ` .live-responses-table tbody tr.response`
	p.do("wait for the response of "+op, chromedp.WaitVisible(chromedp.CSS(row+` .response-col_status`)))
	status = get(p, "read the status", chromedp.Text(chromedp.CSS(row+` .response-col_status`)))
	body = get(p, "read the body", chromedp.Text(chromedp.CSS(row+` .response-col_description .highlight-code pre`)))
	return strings.TrimSpace(status), body
}

// screenshot writes a full-page PNG under t.TempDir() and copies it to
// screenshotCopy; it returns the path, or why there is none.
func (p *page) screenshot(name string) string {
	p.t.Helper()
	png, err := chromedp.Run(p.browser, chromedp.FullScreenshot(100))
	if err != nil {
		return "none: " + err.Error()
	}
	path := filepath.Join(p.t.TempDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return "none: " + err.Error()
	}
	if err := os.WriteFile(screenshotCopy, png, 0o644); err != nil {
		p.t.Logf("copy screenshot to %s: %v", screenshotCopy, err)
	}
	return path
}
