package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// consoleShotsVar names a folder for the console's screenshots; `make
// console-screenshots` sets it to docs/console. Without it they go to the
// test's temporary folder.
const consoleShotsVar = "CONSOLE_SCREENSHOTS"

// cspWatch records every Content-Security-Policy violation of the page in
// window.__csp; the DevTools protocol injects it, so the policy does not
// apply to it.
const cspWatch = `window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));`

// console is the browser tab of the console test and the server it drives.
type console struct {
	*page
	srv   *testenv.Server
	axe   string
	shots string
	// created is the dead letter resolved by triageDeadLetter.
	created string
	// task and escalation are made by escalate.
	task, escalation string
	// adminKey is an admin-role key of the tenant "default", made by
	// apiKeys, which the tenant's operator may not rotate.
	adminKey string
}

// TestConsole drives the operator console in Chromium against a real
// server: a platform admin triages a dead letter published by the test
// (keyboard, payload, headers, resolve with requeue, seen on NATS), reads
// the audit trail, resets the breakers, changes a budget limit, creates an
// API key, calls the API and the LLM gateway with it (the budgets page shows
// the usage by model), rotates and revokes it; a tenant-bound operator and
// an observer see only what their permissions allow and no write controls. Every page passes axe-core without serious
// violations and the strict CSP refuses nothing.
func TestConsole(t *testing.T) {
	execPath := chromium()
	if execPath == "" {
		t.Skip("no Chromium found (apt-get install chromium, or set CHROMIUM_PATH): browser test skipped")
	}
	axe, err := os.ReadFile(filepath.Join("testdata", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	env := testenv.New(t)
	if url := env.Vars["NATS_URL"]; url != "" {
		t.Cleanup(func() { deleteStream(url, env.Vars["DLQ_STREAM"]) })
	}
	fake := testenv.NewFakeOpenAI(t)
	srv := env.Start(t, "LLM_MODELS", testenv.FakeModels, "OPENAI_BASE_URL", fake.URL()+"/v1")
	shots := os.Getenv(consoleShotsVar)
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	b := &page{t: t, browser: browser(ctx, t, execPath)}
	if err := chromedp.Do(b.browser); err != nil {
		t.Fatalf("start %s: %v", execPath, err)
	}
	var cancelSteps context.CancelFunc
	b.steps, cancelSteps = context.WithTimeout(b.browser, 230*time.Second)
	defer cancelSteps()
	c := &console{page: b, srv: srv, axe: string(axe), shots: shots}

	c.do("open /console",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatch})
			return err
		}),
		chromedp.Navigate(srv.HTTP.URL+"/console"),
		chromedp.WaitVisible(chromedp.CSS(`form.signin`)),
	)
	c.accessible("sign-in page")
	c.shot("signin")

	c.wrongPassword()
	c.triageDeadLetter()
	c.auditTrail()
	c.breakers()
	c.budget()
	c.apiKeys(fake)
	c.signOut("admin")
	c.tenantOperator()
	c.observer()

	if got := get(c.page, "read CSP violations", chromedp.Evaluate[[]string](`window.__csp`)); len(got) != 0 {
		t.Errorf("the Content-Security-Policy refused %v", got)
	}
	t.Logf("screenshots in %s", shots)
}

// wrongPassword: the error answer is shown with its code, message and
// request id.
func (c *console) wrongPassword() {
	c.t.Helper()
	c.do("sign in with a wrong password",
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "not-the-password"),
		chromedp.Click(chromedp.CSS(`form.signin button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.signin .error`)),
	)
	msg := get(c.page, "read the error", chromedp.Text(chromedp.CSS(`form.signin .error`)))
	id := get(c.page, "read the request id", chromedp.Text(chromedp.CSS(`form.signin .error .request-id code`)))
	if !strings.Contains(msg, "401 auth.invalid_credentials") || !regexp.MustCompile(`^[A-Za-z0-9._-]{8,128}$`).MatchString(id) {
		c.t.Errorf("error shown %q with request id %q, want 401 auth.invalid_credentials, its message and the request id", msg, id)
	}
	c.do("clear the form",
		clear(`input[name=username]`),
		clear(`input[name=password]`),
	)
}

// clear empties a text field.
func clear(css string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ""`, css))
}

// signIn signs in through the form and waits for the menu.
func (c *console) signIn(user, password string) {
	c.t.Helper()
	c.do("sign in as "+user,
		chromedp.WaitVisible(chromedp.CSS(`form.signin`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`form.signin button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#sign-out`)),
	)
	if kept := get(c.page, "read the storage", chromedp.Evaluate[bool](`sessionStorage.getItem("console.token") !== null && localStorage.length === 0`)); !kept {
		c.t.Errorf("after sign-in the token is not in sessionStorage alone")
	}
}

// signOut clicks Sign out: the console forgets the token and the server
// refuses it from then on.
func (c *console) signOut(user string) {
	c.t.Helper()
	token := get(c.page, "read the token", chromedp.Evaluate[string](`sessionStorage.getItem("console.token") || ""`))
	c.do("sign out "+user,
		chromedp.Click(chromedp.CSS(`#sign-out`)),
		chromedp.WaitVisible(chromedp.CSS(`form.signin .notice`)),
	)
	if left := get(c.page, "read the storage", chromedp.Evaluate[int](`sessionStorage.length + localStorage.length`)); left != 0 {
		c.t.Errorf("after sign-out %d items are left in the browser's storage", left)
	}
	c.srv.Get(c.t, "/api/v1/auth/me", token).WantError(c.t, http.StatusUnauthorized, "auth.unauthorized")
}

// menu returns the titles of the menu's pages.
func (c *console) menu() []string {
	c.t.Helper()
	return get(c.page, "read the menu", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("nav.menu a")).map(a => a.textContent)`))
}

// goTo opens a page from the menu.
func (c *console) goTo(hash, heading string) {
	c.t.Helper()
	c.do("open "+heading,
		chromedp.Click(chromedp.CSS(`nav.menu a[href="`+hash+`"]`)),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector("main h1")?.textContent === %q`, heading)),
	)
}

// writeControls counts the controls that change something.
func (c *console) writeControls() int {
	c.t.Helper()
	return get(c.page, "count write controls", chromedp.Evaluate[int](`document.querySelectorAll(".write").length`))
}

// accessible runs axe-core on the page; serious and critical violations fail.
func (c *console) accessible(what string) {
	c.t.Helper()
	if !get(c.page, "load axe-core", chromedp.Evaluate[bool](`typeof window.axe === "object"`)) {
		get(c.page, "load axe-core", chromedp.Evaluate[bool](c.axe+"\n;true"))
	}
	found := get(c.page, "run axe-core on the "+what, chromedp.Evaluate[[]string](`axe.run(document, { resultTypes: ["violations"] }).then((r) =>
		r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
			.map((v) => v.impact + " " + v.id + ": " + v.help + " at " + v.nodes.map((n) => n.target.join(" ")).join(", ")))`, chromedp.EvalAwaitPromise))
	for _, v := range found {
		c.t.Errorf("axe-core on the %s: %s", what, v)
	}
}

// shot keeps a screenshot of the page under the screenshots folder.
func (c *console) shot(name string) {
	c.t.Helper()
	png, err := chromedp.Run(c.browser, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(c.shots, name+".png"), png, 0o644); err != nil {
		c.t.Error(err)
	}
}

// triageDeadLetter: two dead letters are published on NATS; the admin
// filters them by subject, walks the list with the keyboard, reads the
// payload and headers, resolves one with requeue, and the test receives it
// again on its original subject.
func (c *console) triageDeadLetter() {
	t := c.t
	t.Helper()
	base := "console" + strings.ToLower(fmt.Sprint(time.Now().UnixNano()))
	created := c.publish(base+".orders.created", `{"id":7,"sku":"A-1","qty":2}`, nats.Header{"error": {"timeout"}, "attempts": {"3"}, "X-Trace": {"t-42"}})
	paid := c.publish(base+".orders.paid", `not json`, nats.Header{"error": {"schema mismatch"}})

	c.signIn("admin", "admin123")
	if got, want := c.menu(), []string{"Overview", "Dead letters", "Budgets", "Circuit breakers", "API keys", "Tasks", "Escalations", "Audit"}; !slices.Equal(got, want) {
		t.Errorf("admin's menu = %v, want %v", got, want)
	}
	c.do("overview", chromedp.Poll[chromedp.Void](`document.querySelectorAll("dl.stats .stat").length === 6`))
	c.accessible("overview")
	c.shot("overview")

	c.goTo("#/dlq", "Dead letters")
	c.do("filter by subject",
		chromedp.SendKeys(chromedp.CSS(`input[name=subject]`), base+".orders.>"),
		chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`)),
		// The list the page opened with may hold the same rows: wait for
		// the filtered answer (the list no longer busy), so the rows read
		// and focused below are not replaced under the keyboard.
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`(() => {
			const rows = Array.from(document.querySelectorAll("button.row"));
			const list = rows[0]?.closest("[aria-busy]");
			return !!list && list.getAttribute("aria-busy") === "false" && rows.map(b => b.dataset.id).includes(%q);
		})()`, created)),
	)
	rows := get(c.page, "read the rows", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("button.row")).map(b => b.dataset.id)`))
	if !slices.Equal(rows, []string{paid, created}) {
		t.Fatalf("rows %v, want the two published messages newest first %v", rows, []string{paid, created})
	}
	c.do("open the second with the keyboard",
		chromedp.Focus(chromedp.CSS(`button.row[data-id="`+paid+`"]`)),
		chromedp.KeyEvent(kb.ArrowDown),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.activeElement?.dataset.id === %q`, created)),
		chromedp.KeyEvent(kb.Enter),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector(".detail h2")?.textContent === %q`, base+".orders.created")),
	)
	if got, want := get(c.page, "read the payload", chromedp.TextContent(chromedp.CSS(`.detail pre.payload`))),
		"{\n  \"id\": 7,\n  \"sku\": \"A-1\",\n  \"qty\": 2\n}"; got != want {
		t.Errorf("payload shown as %q, want it pretty-printed %q", got, want)
	}
	headers := get(c.page, "read the headers", chromedp.Evaluate[map[string]string](`Object.fromEntries(Array.from(document.querySelectorAll(".detail tbody tr")).map(r => [r.cells[0].textContent, r.cells[1].textContent]))`))
	if headers["error"] != "timeout" || headers["attempts"] != "3" || headers["X-Trace"] != "t-42" {
		t.Errorf("headers shown %v, want error, attempts and X-Trace as published", headers)
	}
	c.accessible("dead letters page")
	c.shot("dlq")
	const phone = 390
	c.do("phone width", chromedp.EmulateViewport(phone, 844, chromedp.EmulateMobile))
	if w := get(c.page, "measure the page", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > phone {
		t.Errorf("at phone width the page is %d px wide, want at most %d", w, phone)
	}
	c.accessible("dead letters page at phone width")
	c.shot("dlq-phone")
	c.do("desktop width", chromedp.EmulateViewport(1280, 1000))

	sub, err := c.srv.App.Bus().Conn.SubscribeSync(base + ".orders.created")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := c.srv.App.Bus().Conn.Flush(); err != nil {
		t.Fatal(err)
	}
	c.do("resolve with requeue",
		chromedp.SendKeys(chromedp.CSS(`form.resolve textarea[name=note]`), "consumer fixed in v2.3"),
		chromedp.Click(chromedp.CSS(`form.resolve input[name=requeue]`)),
		chromedp.Click(chromedp.CSS(`form.resolve button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.detail .notice`)),
		chromedp.WaitNotPresent(chromedp.CSS(`button.row[data-id="`+created+`"]`)),
	)
	if notice := get(c.page, "read the notice", chromedp.Text(chromedp.CSS(`.detail .notice`))); notice != "Resolved and requeued to "+base+".orders.created." {
		t.Errorf("notice %q, want resolved and requeued", notice)
	}
	if state := get(c.page, "read the state", chromedp.Text(chromedp.CSS(`.detail .state`))); state != "resolved by admin, requeued 1×" {
		t.Errorf("state shown %q, want resolved by admin, requeued once", state)
	}
	if c.writeControls() != 0 {
		t.Errorf("a resolved message still shows the resolve form")
	}
	msg, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("the requeued message did not arrive on %s.orders.created: %v", base, err)
	}
	if string(msg.Data) != `{"id":7,"sku":"A-1","qty":2}` || msg.Header.Get("X-Trace") != "t-42" {
		t.Errorf("requeued %q with headers %v, want the payload and headers of the dead letter", msg.Data, msg.Header)
	}
	var stored struct {
		Resolved        bool    `json:"resolved"`
		ResolvedBy      *string `json:"resolved_by"`
		ResolutionNotes *string `json:"resolution_notes"`
		RequeueCount    int     `json:"requeue_count"`
	}
	c.srv.Get(t, "/api/v1/dlq/"+created, c.srv.Token(t, "admin")).WantStatus(t, http.StatusOK).JSON(t, &stored)
	if !stored.Resolved || stored.ResolvedBy == nil || *stored.ResolvedBy != "admin" || stored.ResolutionNotes == nil ||
		*stored.ResolutionNotes != "consumer fixed in v2.3" || stored.RequeueCount != 1 {
		t.Errorf("stored %+v, want resolved by admin with the note, requeued once", stored)
	}
	c.created = created
}

// publish dead-letters a message as a failing consumer would and waits
// until the server stored it; it returns its id.
func (c *console) publish(subject, data string, h nats.Header) string {
	c.t.Helper()
	msg := &nats.Msg{Subject: c.srv.Config.DLQSubjectPrefix + "." + subject, Data: []byte(data), Header: h}
	if _, err := c.srv.App.Bus().JS.PublishMsg(context.Background(), msg); err != nil {
		c.t.Fatalf("publish to the DLQ: %v", err)
	}
	token := c.srv.Token(c.t, "admin")
	var id string
	testenv.Wait(c.t, 20*time.Second, subject+" to be stored", func() bool {
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		c.srv.Get(c.t, "/api/v1/dlq?subject="+subject, token).WantStatus(c.t, http.StatusOK).JSON(c.t, &page)
		if len(page.Items) == 1 {
			id = page.Items[0].ID
		}
		return id != ""
	})
	return id
}

// auditTrail: the resolve is in the audit trail, found by its action.
func (c *console) auditTrail() {
	c.t.Helper()
	c.goTo("#/audit", "Audit")
	c.do("search the audit trail",
		chromedp.SendKeys(chromedp.CSS(`input[name=action]`), "dlq.resolve"),
		chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`)),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`Array.from(document.querySelectorAll("table.audit tbody tr")).some(r => r.textContent.includes(%q))`, c.created)),
	)
	// The page first listed every entry; the search answers dlq.resolve only.
	c.do("only dlq.resolve entries", chromedp.Poll[chromedp.Void](`Array.from(document.querySelectorAll("table.audit tbody tr td:nth-child(2)")).every(td => td.textContent === "dlq.resolve")`,
		chromedp.WithPollingTimeout(10*time.Second)))
	c.accessible("audit page")
	c.shot("audit")
}

// breakers: the table lists the breakers; Reset all answers which it reset.
func (c *console) breakers() {
	c.t.Helper()
	c.goTo("#/breakers", "Circuit breakers")
	c.do("list the breakers", chromedp.Poll[chromedp.Void](`document.querySelectorAll("tbody tr[data-name]").length > 0`))
	names := get(c.page, "read the breakers", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("tbody tr[data-name]")).map(r => r.dataset.name)`))
	if n := c.writeControls(); n != len(names)+1 {
		c.t.Errorf("admin sees %d write controls for %d breakers, want a reset each and Reset all", n, len(names))
	}
	c.accessible("circuit breakers page")
	c.shot("breakers")
	c.do("reset all",
		chromedp.Click(chromedp.CSS(`button.danger`)),
		chromedp.Poll[chromedp.Void](`document.querySelector("p.status")?.textContent.startsWith("Reset ")`),
	)
	if got := get(c.page, "read the status", chromedp.Text(chromedp.CSS(`p.status`))); !strings.Contains(got, strings.Join(names, ", ")) {
		c.t.Errorf("after Reset all the status says %q, want the breakers %v", got, names)
	}
}

// budget: a tenant id that is no slug is shown as the API's 422 with its
// request id; the admin opens a new tenant's budget, sets a limit, sees a
// reservation made over the API, raises the limit and sees the new state,
// which the API confirms.
func (c *console) budget() {
	t := c.t
	t.Helper()
	tenant := "console-" + strings.ToLower(fmt.Sprint(time.Now().UnixNano()%1e9))
	c.goTo("#/budgets", "Budgets")
	c.do("show a budget of a tenant id that is no slug",
		chromedp.SendKeys(chromedp.CSS(`input[name=tenant_id]`), "Not A Slug"),
		chromedp.SendKeys(chromedp.CSS(`input[name=project_id]`), "support-bot"),
		chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`section.card .error .request-id code`)),
	)
	if got := get(c.page, "read the error", chromedp.Text(chromedp.CSS(`section.card .error`))); !strings.Contains(got, "422 validation.unprocessable_entity") {
		t.Errorf("error shown %q, want 422 validation.unprocessable_entity with its message and request id", got)
	}
	c.shot("error")
	c.do("show a new tenant's budget",
		clear(`input[name=tenant_id]`),
		chromedp.SendKeys(chromedp.CSS(`input[name=tenant_id]`), tenant),
		chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`dd[data-field=total]`)),
		// A budget the gateway never spent on: the usage panel says so.
		chromedp.Poll[chromedp.Void](`document.querySelector("section[aria-labelledby=usage-title] .status")?.textContent.startsWith("No LLM gateway calls on this budget")`),
	)
	number := func(field string) string {
		return fmt.Sprintf(`(document.querySelector('dd[data-field=%q]')?.textContent || "").replace(/[^0-9]/g, "")`, field)
	}
	c.do("set a limit",
		chromedp.SendKeys(chromedp.CSS(`input[name=total_limit]`), "50000"),
		chromedp.Click(chromedp.CSS(`form.write button[type=submit]`)),
		chromedp.Poll[chromedp.Void](number("total")+` === "50000"`),
	)
	token := c.srv.Token(t, "admin")
	c.srv.Send(t, testenv.Request{Method: http.MethodPost, Path: "/api/v1/budget/request", Token: token,
		Header: map[string]string{"Idempotency-Key": "console-test-1"},
		Body:   map[string]any{"tenant_id": tenant, "project_id": "support-bot", "task_id": "task-console", "model": "gpt-4o", "estimated_tokens": 1200}}).
		WantStatus(t, http.StatusOK)
	c.do("show the reservation",
		chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`)),
		chromedp.Poll[chromedp.Void](number("reserved")+` === "1200"`),
		chromedp.Poll[chromedp.Void](`Array.from(document.querySelectorAll("tbody tr")).some(r => r.textContent.includes("task-console"))`),
	)
	c.do("raise the limit",
		clear(`input[name=total_limit]`),
		chromedp.SendKeys(chromedp.CSS(`input[name=total_limit]`), "60000"),
		chromedp.Click(chromedp.CSS(`form.write button[type=submit]`)),
		chromedp.Poll[chromedp.Void](number("total")+` === "60000" && `+number("available")+` === "58800"`),
	)
	var state struct {
		Total, Used, Reserved, Available int
	}
	c.srv.Get(t, "/api/v1/budget/state?tenant_id="+tenant+"&project_id=support-bot", token).WantStatus(t, http.StatusOK).JSON(t, &state)
	if state.Total != 60000 || state.Reserved != 1200 || state.Available != 58800 {
		t.Errorf("stored state %+v, want total 60000, reserved 1200, available 58800", state)
	}
	c.accessible("budgets page")
}

// escalate makes, over the API as the admin, a running task of the tenant
// "default" and opens an escalation of it, which moves it to escalated.
func (c *console) escalate() {
	t := c.t
	t.Helper()
	token := c.srv.Token(t, "admin")
	var task struct {
		ID      string `json:"id"`
		Version int    `json:"version"`
		State   string `json:"state"`
	}
	c.srv.Post(t, "/api/v1/tasks", token, map[string]any{"tenant_id": "default", "title": "Summarise the CI failures", "description": "nightly run"}).
		WantStatus(t, http.StatusCreated).JSON(t, &task)
	c.srv.Send(t, testenv.Request{Method: http.MethodPatch, Path: "/api/v1/tasks/" + task.ID, Token: token,
		Body: map[string]any{"state": "running", "version": task.Version}}).WantStatus(t, http.StatusOK)
	var esc struct {
		ID        string `json:"id"`
		TaskState string `json:"task_state"`
	}
	c.srv.Post(t, "/api/v1/escalations", token, map[string]any{"task_id": task.ID, "pattern_type": "skill_gap",
		"reason": "The agent cannot read the CI logs", "suggested_fix": "Grant read access to the CI logs"}).
		WantStatus(t, http.StatusCreated).JSON(t, &esc)
	if esc.TaskState != "escalated" {
		t.Fatalf("task state after the escalation = %q, want escalated", esc.TaskState)
	}
	c.task, c.escalation = task.ID, esc.ID
}

// resolveEscalation: the operator finds the escalated task by state, reads
// its history and escalation, and resolves the escalation, which returns
// the task to running.
func (c *console) resolveEscalation() {
	t := c.t
	t.Helper()
	c.goTo("#/tasks", "Tasks")
	c.do("list escalated tasks",
		chromedp.SetValue(chromedp.CSS(`select[name=state]`), "escalated"),
		chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`)),
		// The unfiltered list that opened the page may render after the
		// poll saw the filtered one (or the other way round), replacing
		// the row under a click: click, in the page, the row of the only
		// listed task until its history shows.
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`(() => {
			const rows = Array.from(document.querySelectorAll("button.row"));
			if (rows.length !== 1 || rows[0].dataset.id !== %q) return false;
			if (document.querySelector(".detail ol.events li")) return true;
			// Once per rendered row: a click on every poll would start a
			// new request each time, and the detail shows only the latest.
			if (!rows[0].dataset.clicked) {
				rows[0].dataset.clicked = "yes";
				rows[0].click();
			}
			return false;
		})()`, c.task)),
		chromedp.WaitVisible(chromedp.CSS(`.detail ol.events li`)),
	)
	history := get(c.page, "read the history", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(".detail ol.events li strong")).map(s => s.textContent)`))
	if len(history) < 3 {
		t.Errorf("history shows %v, want the creation and two state changes", history)
	}
	c.accessible("tasks page")
	c.shot("tasks")

	c.goTo("#/escalations", "Escalations")
	c.do("open the escalation",
		chromedp.WaitVisible(chromedp.CSS(`button.row[data-id="`+c.escalation+`"]`)),
		chromedp.Click(chromedp.CSS(`button.row[data-id="`+c.escalation+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.resolve textarea[name=resolution]`)),
	)
	c.accessible("escalations page")
	c.shot("escalations")
	c.do("resolve it",
		chromedp.SendKeys(chromedp.CSS(`form.resolve textarea[name=resolution]`), "Granted read access to the CI logs"),
		chromedp.Click(chromedp.CSS(`form.resolve button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.detail .notice`)),
		chromedp.WaitNotPresent(chromedp.CSS(`button.row[data-id="`+c.escalation+`"]`)),
	)
	if notice := get(c.page, "read the notice", chromedp.Text(chromedp.CSS(`.detail .notice`))); notice != "Resolved; the task is running." {
		t.Errorf("notice %q, want the task running again", notice)
	}
	token := c.srv.Token(t, "admin")
	var task struct {
		State string `json:"state"`
	}
	c.srv.Get(t, "/api/v1/tasks/"+c.task, token).WantStatus(t, http.StatusOK).JSON(t, &task)
	var esc struct {
		Resolved   bool    `json:"resolved"`
		Resolution *string `json:"resolution"`
	}
	c.srv.Get(t, "/api/v1/escalations/"+c.escalation, token).WantStatus(t, http.StatusOK).JSON(t, &esc)
	if task.State != "running" || !esc.Resolved || esc.Resolution == nil || *esc.Resolution != "Granted read access to the CI logs" {
		t.Errorf("stored task state %q, escalation %+v; want running and resolved with the text", task.State, esc)
	}
}

// tenantOperator: the demo operator is bound to the tenant "default", so
// the platform pages are not in its menu; it may read its tenant's budgets
// but not configure them, and manage its tenant's API keys up to its role.
func (c *console) tenantOperator() {
	t := c.t
	t.Helper()
	c.escalate()
	c.signIn("operator", "operator123")
	if got, want := c.menu(), []string{"Overview", "Budgets", "API keys", "Tasks", "Escalations"}; !slices.Equal(got, want) {
		t.Errorf("operator's menu = %v, want %v", got, want)
	}
	c.goTo("#/budgets", "Budgets")
	tenant := get(c.page, "read the tenant field", chromedp.Evaluate[[]string](`[document.querySelector("input[name=tenant_id]").value, String(document.querySelector("input[name=tenant_id]").readOnly)]`))
	if !slices.Equal(tenant, []string{"default", "true"}) {
		t.Errorf("operator's tenant field (value, read-only) = %v, want its own tenant, read-only", tenant)
	}
	if n := c.writeControls(); n != 0 {
		t.Errorf("operator sees %d write controls on the budgets page, want none (no budget.configure)", n)
	}
	c.operatorKeys()
	c.resolveEscalation()
	c.signOut("operator")
}

// observer: only the overview, no write control anywhere, and a link to a
// page it may not see shows the overview.
func (c *console) observer() {
	t := c.t
	t.Helper()
	c.signIn("observer", "obs123")
	if got, want := c.menu(), []string{"Overview", "Tasks"}; !slices.Equal(got, want) {
		t.Errorf("observer's menu = %v, want %v", got, want)
	}
	c.goTo("#/tasks", "Tasks")
	c.do("tasks", chromedp.Poll[chromedp.Void](`document.querySelectorAll("button.row").length > 0`))
	if n := c.writeControls(); n != 0 {
		t.Errorf("observer sees %d write controls on the tasks page", n)
	}
	c.goTo("#/overview", "Overview")
	for _, hash := range []string{"#/dlq", "#/budgets", "#/breakers", "#/audit", "#/escalations", "#/keys"} {
		c.do("try "+hash,
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %q`, hash)),
			chromedp.Poll[chromedp.Void](`document.querySelector("main h1")?.textContent === "Overview"`),
		)
		if n := c.writeControls(); n != 0 {
			t.Errorf("observer sees %d write controls at %s", n, hash)
		}
	}
	c.do("stats", chromedp.Poll[chromedp.Void](`document.querySelectorAll("dl.stats .stat").length === 6`))
	c.accessible("observer's overview")
	c.signOut("observer")
}

// deleteStream removes the test's DLQ stream from an external NATS.
func deleteStream(url, stream string) {
	nc, err := nats.Connect(url)
	if err != nil {
		return
	}
	defer nc.Close()
	if js, err := jetstream.New(nc); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = js.DeleteStream(ctx, stream)
	}
}
