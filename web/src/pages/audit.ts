import { Abilities, api, call, errorBox } from "../api.js";
import { field, fill, h, latest, rfc3339, time } from "../dom.js";
import { Pager } from "../pager.js";

/** The audit trail with its filters, newest first, paged by cursor. */
export function auditPage(root: HTMLElement, _can: Abilities): void {
  const action = h("input", { name: "action", placeholder: "dlq.resolve" });
  const resourceType = h("input", { name: "resource_type", placeholder: "dlq_message" });
  const resourceId = h("input", { name: "resource_id" });
  const userId = h("input", { name: "user_id" });
  const since = h("input", { name: "since", type: "datetime-local" });
  const until = h("input", { name: "until", type: "datetime-local" });
  const filters = h("form", { class: "filters", role: "search", "aria-label": "Filter the audit trail" },
    field("Action", action), field("Resource type", resourceType), field("Resource id", resourceId),
    field("User id", userId), field("Since", since), field("Until", until),
    h("button", { type: "submit" }, "Search"));
  const status = h("p", { class: "status", role: "status" });
  const body = h("tbody");
  const pager = new Pager(() => void load());
  fill(root, h("h1", {}, "Audit"), filters, status,
    h("div", { class: "scroll" }, h("table", { class: "audit" },
      h("thead", {}, h("tr", {}, ["Time", "Action", "Resource", "Who", "Request id", "Details"].map((c) => h("th", { scope: "col" }, c)))),
      body)),
    pager.el);

  const fresh = latest();
  async function load(): Promise<void> {
    const current = fresh();
    fill(status, "Loading…");
    try {
      const query: Record<string, string> = {};
      for (const input of [action, resourceType, resourceId, userId]) {
        if (input.value.trim()) query[input.name] = input.value.trim();
      }
      const s = rfc3339(since), u = rfc3339(until);
      if (s) query.since = s;
      if (u) query.until = u;
      if (pager.cursor) query.cursor = pager.cursor;
      const page = await call(api.GET("/api/v1/audit", { params: { query } }));
      if (!current()) return;
      pager.loaded(page.next_cursor);
      fill(status, page.items.length ? "" : "No entries match.");
      fill(body, page.items.map((e) => h("tr", {},
        h("td", {}, time(e.created_at)),
        h("td", {}, h("code", {}, e.action)),
        h("td", {}, e.resource_type ?? "", e.resource_id ? [" ", h("code", {}, e.resource_id)] : null),
        h("td", {}, [e.principal_id ?? e.user_id, e.role, e.tenant_id].filter(Boolean).join(" · ")),
        h("td", {}, e.request_id ? h("code", {}, e.request_id) : ""),
        h("td", {}, h("code", { class: "details" }, JSON.stringify(e.details))),
      )));
    } catch (e) {
      if (current()) fill(status, errorBox(e));
    }
  }

  filters.addEventListener("submit", (ev) => {
    ev.preventDefault();
    pager.reset();
    void load();
  });
  void load();
}
