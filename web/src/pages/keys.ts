import { Abilities, api, call, errorBox, type Schemas } from "../api.js";
import { confirmAction, openDialog } from "../dialog.js";
import { field, fill, h, latest, rfc3339, time } from "../dom.js";
import { Pager } from "../pager.js";

type Key = Schemas["Key"];
type Created = Schemas["KeyCreated"];
type KeyCreate = Schemas["KeyCreate"];
type Role = Key["role"];

/**
 * The roles a key may have, most privileged first: each grants every
 * permission of the ones after it, and a key's role is at most its
 * creator's, so the form offers the creator's role and those below it (the
 * server checks it again: 403 otherwise).
 */
const roles: Role[] = ["admin", "operator", "developer", "observer"];

/** How long a rotated key's old secret keeps working (grace_seconds). */
const graces: [number, string][] = [
  [0, "none: the old secret stops at once"],
  [3600, "1 hour"],
  [86400, "24 hours"],
  [604800, "7 days (the most)"],
];

/**
 * API keys (key.manage): the list, newest first and paged; the create form;
 * rotate and revoke on each active key. A new or rotated secret is shown
 * once, in a dialog with a copy button: the server keeps only its hash.
 */
export function keysPage(root: HTMLElement, can: Abilities): void {
  const own = can.me.tenant_id;
  const tenants = h("datalist", { id: "key-tenant-list" });
  const filterTenant = can.platform ? h("input", { name: "tenant_id", placeholder: "every tenant", list: "key-tenant-list" }) : null;
  const filters = filterTenant
    ? h("form", { class: "filters", role: "search", "aria-label": "Filter keys" }, field("Tenant", filterTenant), h("button", { type: "submit" }, "Apply"))
    : null;
  const status = h("div", { class: "status", role: "status" });
  const outcome = h("div", { class: "status outcome", role: "status" });
  const body = h("tbody");
  const pager = new Pager(() => void load());
  const table = h("table", { class: "keys" },
    h("thead", {}, h("tr", {},
      ["Name", "Tenant / project", "Secret", "Role", "Rate limit", "Created", "Last used", "Expires", "Status", ""].map((c) =>
        h("th", { scope: "col" }, c || h("span", { class: "visually-hidden" }, "Actions"))))),
    body);
  const list = h("section", { class: "card", "aria-labelledby": "keys-title", "aria-busy": "false" },
    h("h2", { id: "keys-title" }, "Keys"), outcome, status, h("div", { class: "scroll" }, table), pager.el);
  fill(root, h("h1", {}, "API keys"), filters, tenants, can.manageKeys ? createForm() : null, list);

  if (can.listTenants) {
    call(api.GET("/api/v1/tenants", { params: { query: { limit: 200 } } }))
      .then((p) => fill(tenants, p.items.map((t) => h("option", { value: t.id }, t.name))))
      .catch(() => {}); // only suggestions: typing a tenant id still works
  }

  const fresh = latest();
  async function load(): Promise<void> {
    const current = fresh();
    list.setAttribute("aria-busy", "true");
    fill(status, "Loading…");
    try {
      const query: Record<string, string> = {};
      if (filterTenant?.value.trim()) query.tenant_id = filterTenant.value.trim();
      if (pager.cursor) query.cursor = pager.cursor;
      const page = await call(api.GET("/api/v1/keys", { params: { query } }));
      if (!current()) return;
      pager.loaded(page.next_cursor);
      fill(status, page.items.length ? "" : "No API keys.");
      fill(body, page.items.map(row));
    } catch (e) {
      if (!current()) return;
      fill(status, errorBox(e));
      fill(body);
    } finally {
      if (current()) list.setAttribute("aria-busy", "false");
    }
  }

  function row(k: Key): HTMLElement {
    const active = k.status === "active";
    return h("tr", { "data-id": k.id, "data-status": k.status },
      h("th", { scope: "row" }, k.name),
      h("td", {}, k.tenant_id ?? h("span", { class: "badge" }, "platform"), k.project_id ? [" / ", k.project_id] : null),
      h("td", {}, h("code", { class: "key-secret" }, `${k.prefix}…${k.last_four}`)),
      h("td", {}, k.role),
      h("td", {}, k.rate_limit ?? h("span", { class: "muted" }, "the role's"),
        k.tokens_per_minute ? h("small", { class: "muted block" }, `${k.tokens_per_minute.toLocaleString("en")} tokens/min`) : null),
      h("td", {}, time(k.created_at)),
      h("td", {}, k.last_used_at ? time(k.last_used_at) : h("span", { class: "muted" }, "never")),
      h("td", {}, k.expires_at ? time(k.expires_at) : h("span", { class: "muted" }, "never")),
      h("td", { class: "key-status" },
        h("span", { class: `badge ${active ? "ok" : "bad"}` }, k.status),
        k.revoked_at ? [" ", time(k.revoked_at)] : null,
        active && k.previous_expires_at ? h("small", { class: "muted block" }, "old secret until ", time(k.previous_expires_at)) : null),
      h("td", {}, active && can.manageKeys ? h("div", { class: "actions" },
        h("button", { type: "button", class: "write secondary rotate", "aria-label": `Rotate ${k.name}`, onclick: () => void rotate(k) }, "Rotate"),
        h("button", { type: "button", class: "write danger revoke", "aria-label": `Revoke ${k.name}`, onclick: () => void revoke(k) }, "Revoke"),
      ) : null),
    );
  }

  function createForm(): HTMLElement {
    const name = h("input", { name: "name", required: true, maxlength: 200, placeholder: "ci-deployer" });
    const offered = roles.slice(Math.max(0, roles.indexOf(can.me.role)));
    const role = h("select", { name: "role" }, offered.map((r) => h("option", { value: r, selected: r === "developer" }, r)));
    const tenant = h("input", { name: "tenant_id", list: "key-tenant-list", value: own ?? "", readonly: own !== null, maxlength: 128 });
    const project = h("input", { name: "project_id", maxlength: 128, placeholder: "none" });
    const expires = h("input", { name: "expires_at", type: "datetime-local" });
    const rateLimit = h("input", { name: "rate_limit", maxlength: 32, placeholder: "the role's, e.g. 600-M" });
    const tokens = h("input", { name: "tokens_per_minute", type: "number", min: 1, max: 1_000_000_000, step: 1, placeholder: "no limit" });
    const submit = h("button", { type: "submit" }, "Create key");
    const result = h("div", { class: "status", role: "status" });
    const form = h("form", { class: "card write create", "aria-labelledby": "create-title" },
      h("h2", { id: "create-title" }, "New key"),
      h("div", { class: "form-grid" },
        field("Name", name, "what the key is for"),
        field("Role", role, "at most yours"),
        field("Tenant", tenant, own ? "your tenant" : "empty for a platform key (admin role only)"),
        field("Project", project, "the budget the gateway spends; empty for none"),
        field("Expires", expires, "empty for never"),
        field("Rate limit", rateLimit, "requests per S, M, H or D"),
        field("Tokens per minute", tokens, "LLM tokens through the gateway, all replicas together; empty for no limit")),
      submit, result);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const input: KeyCreate = { name: name.value.trim(), role: role.value as Role };
      if (tenant.value.trim() && own === null) input.tenant_id = tenant.value.trim();
      if (project.value.trim()) input.project_id = project.value.trim();
      const until = rfc3339(expires);
      if (until) input.expires_at = until;
      if (rateLimit.value.trim()) input.rate_limit = rateLimit.value.trim();
      if (tokens.value.trim()) input.tokens_per_minute = Number(tokens.value);
      submit.disabled = true;
      fill(result, "Creating…");
      call(api.POST("/api/v1/keys", { body: input }))
        .then((k) => {
          fill(result, `Created ${k.name} (${k.prefix}…${k.last_four}).`);
          form.reset();
          tenant.value = own ?? "";
          pager.reset();
          void load();
          return showSecret(k, `Key ${k.name} created`, []);
        })
        .catch((e: unknown) => fill(result, errorBox(e)))
        .finally(() => { submit.disabled = false; });
    });
    return form;
  }

  async function rotate(k: Key): Promise<void> {
    const grace = h("select", { name: "grace_seconds" }, graces.map(([s, label]) => h("option", { value: s }, label)));
    const ok = await confirmAction(`Rotate ${k.name}?`,
      [`The key ${k.prefix}…${k.last_four} gets a new secret, shown once. The key keeps its id, role, tenant, project and limit.`],
      "Rotate", [field("Old secret keeps working for", grace)]);
    if (!ok) return;
    fill(outcome, `Rotating ${k.name}…`);
    try {
      const r = await call(api.POST("/api/v1/keys/{id}/rotate", { params: { path: { id: k.id } }, body: { grace_seconds: Number(grace.value) } }));
      fill(outcome, `Rotated ${r.name}: its secret is now ${r.prefix}…${r.last_four}.`);
      void load();
      await showSecret(r, `Key ${r.name} rotated`, [r.previous_expires_at
        ? h("p", {}, "The old secret keeps working until ", time(r.previous_expires_at), ", then only this one does.")
        : h("p", {}, "The old secret no longer works.")]);
    } catch (e) {
      fill(outcome, errorBox(e));
    }
  }

  async function revoke(k: Key): Promise<void> {
    const ok = await confirmAction(`Revoke ${k.name}?`,
      [`Every client using ${k.prefix}…${k.last_four} is refused from now on (within a second on every replica). This cannot be undone.`],
      "Revoke");
    if (!ok) return;
    fill(outcome, `Revoking ${k.name}…`);
    try {
      const r = await call(api.DELETE("/api/v1/keys/{id}", { params: { path: { id: k.id } } }));
      fill(outcome, `Revoked ${r.name} (${r.prefix}…${r.last_four}).`);
      void load();
    } catch (e) {
      fill(outcome, errorBox(e));
    }
  }

  filters?.addEventListener("submit", (ev) => {
    ev.preventDefault();
    pager.reset();
    void load();
  });
  void load();
}

/**
 * The secret of a new or rotated key, shown this once: a read-only field
 * that selects itself, a copy button (the clipboard API, or the selection
 * to copy by hand where the browser refuses it) and the warning.
 */
function showSecret(k: Created, title: string, more: Node[]): Promise<string> {
  const secret = h("input", {
    name: "secret", class: "secret", readonly: true, value: k.secret, spellcheck: "false", autocomplete: "off",
    onfocus: () => secret.select(),
  });
  const copied = h("div", { class: "status", role: "status" });
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(k.secret);
      fill(copied, "Copied to the clipboard.");
    } catch {
      secret.focus();
      secret.select();
      fill(copied, "The browser did not allow copying: the secret is selected, copy it with Ctrl+C (⌘C on a Mac).");
    }
  };
  return openDialog(title, (close) => [
    h("p", { class: "warning" }, h("strong", {}, "Copy the secret now: it will not be shown again."),
      " The server keeps only its hash; a lost secret means rotating the key."),
    field("Secret", secret, "send it as Authorization: Bearer <secret> or X-API-Key: <secret>"),
    ...more,
    h("div", { class: "actions" },
      h("button", { type: "button", class: "copy", onclick: () => void copy() }, "Copy"),
      h("button", { type: "button", class: "secondary", onclick: () => close("done") }, "I have copied it")),
    copied,
  ], "secret-dialog");
}
