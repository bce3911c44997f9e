import { Abilities, api, call, errorBox, type Schemas } from "../api.js";
import { field, fill, h, latest, time } from "../dom.js";
import { Pager } from "../pager.js";

type Task = Schemas["Task"];
type Escalation = Schemas["Escalation"];
type TaskState = Task["state"];
type Pattern = Escalation["pattern_type"];

const states: TaskState[] = ["pending", "running", "review", "escalated", "completed", "failed", "cancelled"];
const patterns: Pattern[] = ["skill_gap", "agent_conflict", "process_issue"];

function stateBadge(s: string): HTMLElement {
  const tone = s === "completed" ? "ok" : s === "failed" || s === "cancelled" ? "bad" : s === "escalated" ? "warn" : "";
  return h("span", { class: `badge ${tone}` }, s);
}

/** A tenant filter for platform principals (they see every tenant's work). */
function tenantFilter(can: Abilities): HTMLInputElement | null {
  return can.platform ? h("input", { name: "tenant_id", placeholder: "every tenant" }) : null;
}

/** Tasks by state; one opened shows its history and its escalations. */
export function tasksPage(root: HTMLElement, can: Abilities): void {
  const state = h("select", { name: "state" }, h("option", { value: "" }, "Any state"), states.map((s) => h("option", { value: s }, s)));
  const tenant = tenantFilter(can);
  const filters = h("form", { class: "filters", role: "search", "aria-label": "Filter tasks" },
    field("State", state), tenant ? field("Tenant", tenant) : null, h("button", { type: "submit" }, "Apply"));
  const status = h("p", { class: "status", role: "status" });
  const list = h("ul", { class: "rows", "aria-label": "Tasks" });
  const pager = new Pager(() => void load());
  const detail = h("section", { class: "detail", "aria-label": "Task", "aria-live": "polite" },
    h("p", { class: "muted" }, "Select a task to see its history and escalations."));
  fill(root, h("h1", {}, "Tasks"), filters,
    h("div", { class: "split" }, h("section", { class: "list", "aria-label": "Task list" }, status, list, pager.el), detail));

  const fresh = latest();
  async function load(): Promise<void> {
    const current = fresh();
    fill(status, "Loading…");
    try {
      const query: Record<string, string> = {};
      if (state.value) query.state = state.value;
      if (tenant?.value.trim()) query.tenant_id = tenant.value.trim();
      if (pager.cursor) query.cursor = pager.cursor;
      const page = await call(api.GET("/api/v1/tasks", { params: { query } }));
      if (!current()) return;
      pager.loaded(page.next_cursor);
      fill(status, page.items.length ? "" : "No tasks match.");
      fill(list, page.items.map((t) => h("li", {},
        h("button", { type: "button", class: "row", "data-id": t.id, onclick: () => void open(t.id) },
          h("span", { class: "row-title" }, t.title), stateBadge(t.state),
          h("span", { class: "row-meta" }, t.tenant_id, ` · v${t.version} · updated `, time(t.updated_at))))));
    } catch (e) {
      if (current()) fill(status, errorBox(e));
    }
  }

  const freshDetail = latest();
  async function open(id: string): Promise<void> {
    const current = freshDetail();
    fill(detail, h("p", {}, "Loading…"));
    try {
      const [t, events, escalations] = await Promise.all([
        call(api.GET("/api/v1/tasks/{id}", { params: { path: { id } } })),
        call(api.GET("/api/v1/tasks/{id}/events", { params: { path: { id } } })),
        can.has("escalation.view")
          ? call(api.GET("/api/v1/escalations", { params: { query: { task_id: id } } }))
          : Promise.resolve(undefined),
      ]);
      if (!current()) return;
      fill(detail,
        h("h2", {}, t.title),
        h("dl", { class: "facts" },
          h("dt", {}, "State"), h("dd", { class: "state" }, stateBadge(t.state)),
          h("dt", {}, "Next states"), h("dd", {}, t.allowed_states.join(", ") || "none (final)"),
          h("dt", {}, "Tenant"), h("dd", {}, t.tenant_id),
          h("dt", {}, "Agent"), h("dd", {}, t.agent_id ?? "—"),
          h("dt", {}, "Version"), h("dd", {}, t.version),
          h("dt", {}, "Created"), h("dd", {}, time(t.created_at), ` by ${t.created_by}`),
          h("dt", {}, "Id"), h("dd", {}, h("code", {}, t.id))),
        t.description ? h("p", {}, t.description) : null,
        Object.keys(t.metadata ?? {}).length ? [h("h3", {}, "Metadata"), h("pre", { class: "payload", tabindex: "0" }, JSON.stringify(t.metadata, null, 2))] : null,
        h("h3", {}, "History"),
        h("ol", { class: "events" }, events.items.map((e) => h("li", {},
          time(e.created_at), " ", h("strong", {}, e.kind),
          e.to_state ? ` ${e.from_state ?? "—"} → ${e.to_state}` : "",
          ` (v${e.version}) by ${e.actor}`))),
        escalations ? [
          h("h3", {}, "Escalations"),
          escalations.items.length
            ? h("ul", {}, escalations.items.map((e) => h("li", {},
                h("a", { href: `#/escalations` }, e.pattern_type), ` ${e.resolved ? "resolved" : "open"}: ${e.reason}`)))
            : h("p", { class: "muted" }, "None."),
        ] : null,
      );
    } catch (e) {
      if (current()) fill(detail, errorBox(e));
    }
  }

  filters.addEventListener("submit", (ev) => {
    ev.preventDefault();
    pager.reset();
    void load();
  });
  void load();
}

/** Escalations, open first; one opened can be resolved (escalation.resolve). */
export function escalationsPage(root: HTMLElement, can: Abilities): void {
  const resolved = h("select", { name: "resolved" }, h("option", { value: "false" }, "Open"), h("option", { value: "true" }, "Resolved"));
  const pattern = h("select", { name: "pattern_type" }, h("option", { value: "" }, "Any pattern"), patterns.map((p) => h("option", { value: p }, p)));
  const tenant = tenantFilter(can);
  const filters = h("form", { class: "filters", role: "search", "aria-label": "Filter escalations" },
    field("State", resolved), field("Pattern", pattern), tenant ? field("Tenant", tenant) : null, h("button", { type: "submit" }, "Apply"));
  const status = h("p", { class: "status", role: "status" });
  const list = h("ul", { class: "rows", "aria-label": "Escalations" });
  const pager = new Pager(() => void load());
  const detail = h("section", { class: "detail", "aria-label": "Escalation", "aria-live": "polite" },
    h("p", { class: "muted" }, "Select an escalation to read it and resolve it."));
  fill(root, h("h1", {}, "Escalations"), filters,
    h("div", { class: "split" }, h("section", { class: "list", "aria-label": "Escalation list" }, status, list, pager.el), detail));

  const fresh = latest();
  async function load(): Promise<void> {
    const current = fresh();
    fill(status, "Loading…");
    try {
      const query: Record<string, string | boolean> = { resolved: resolved.value === "true" };
      if (pattern.value) query.pattern_type = pattern.value;
      if (tenant?.value.trim()) query.tenant_id = tenant.value.trim();
      if (pager.cursor) query.cursor = pager.cursor;
      const page = await call(api.GET("/api/v1/escalations", { params: { query } }));
      if (!current()) return;
      pager.loaded(page.next_cursor);
      fill(status, page.items.length ? "" : "No escalations match.");
      fill(list, page.items.map((e) => h("li", {},
        h("button", { type: "button", class: "row", "data-id": e.id, onclick: () => void open(e.id) },
          h("span", { class: "row-title" }, e.reason), h("span", { class: "badge warn" }, e.pattern_type),
          h("span", { class: "row-meta" }, e.tenant_id, " · task ", h("code", {}, e.task_id), " · ", time(e.created_at))))));
    } catch (e) {
      if (current()) fill(status, errorBox(e));
    }
  }

  const freshDetail = latest();
  async function open(id: string, notice?: string): Promise<void> {
    const current = freshDetail();
    fill(detail, h("p", {}, "Loading…"));
    try {
      const e = await call(api.GET("/api/v1/escalations/{id}", { params: { path: { id } } }));
      if (!current()) return;
      fill(detail,
        notice ? h("p", { class: "notice", role: "status" }, notice) : null,
        h("h2", {}, e.reason),
        h("dl", { class: "facts" },
          h("dt", {}, "Pattern"), h("dd", {}, e.pattern_type),
          h("dt", {}, "Task"), h("dd", {}, h("code", {}, e.task_id), e.task_state ? [" ", stateBadge(e.task_state)] : null),
          h("dt", {}, "Tenant"), h("dd", {}, e.tenant_id),
          h("dt", {}, "Opened"), h("dd", {}, time(e.created_at), ` by ${e.created_by}`),
          h("dt", {}, "State"), h("dd", { class: "state" }, e.resolved ? `resolved by ${e.resolved_by ?? "?"}` : "open"),
          e.resolved ? [h("dt", {}, "Resolution"), h("dd", {}, e.resolution ?? "")] : null),
        e.suggested_fix ? [h("h3", {}, "Suggested fix"), h("p", {}, e.suggested_fix)] : null,
        !e.resolved && can.has("escalation.resolve") ? resolveForm(e) : null,
      );
    } catch (err) {
      if (current()) fill(detail, errorBox(err));
    }
  }

  function resolveForm(e: Escalation): HTMLElement {
    const resolution = h("textarea", { name: "resolution", required: true, rows: 3, maxlength: 10000 });
    const submit = h("button", { type: "submit" }, "Resolve");
    const result = h("div", { class: "status", role: "status" });
    const form = h("form", { class: "write resolve", "aria-label": "Resolve this escalation" },
      h("h3", {}, "Resolve"), field("Resolution", resolution), submit, result);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      submit.disabled = true;
      fill(result, "Resolving…");
      call(api.POST("/api/v1/escalations/{id}/resolve", { params: { path: { id: e.id } }, body: { resolution: resolution.value } }))
        .then((r) => {
          void load();
          return open(e.id, `Resolved; the task is ${r.task_state ?? "unchanged"}.`);
        })
        .catch((err: unknown) => {
          fill(result, errorBox(err));
          submit.disabled = false;
        });
    });
    return form;
  }

  filters.addEventListener("submit", (ev) => {
    ev.preventDefault();
    pager.reset();
    void load();
  });
  void load();
}
