import { Abilities, api, call, errorBox } from "../api.js";
import { fill, h, time } from "../dom.js";

/** Counts of GET /stats: what needs attention first. */
export function overviewPage(root: HTMLElement, can: Abilities): void {
  const body = h("section", { "aria-busy": "true", "aria-live": "polite" }, "Loading…");
  fill(root, h("h1", {}, "Overview"), body);
  call(api.GET("/api/v1/stats"))
    .then((s) => {
      const item = (label: string, value: number | null, href?: string) =>
        h("div", { class: "stat" }, h("dt", {}, href ? h("a", { href }, label) : label), h("dd", {}, value === null ? "—" : value));
      fill(body,
        h("dl", { class: "stats" },
          item("Unresolved dead letters", s.dlq_unresolved, can.readDLQ ? "#/dlq" : undefined),
          item("Pending reservations", s.budget_pending_reservations, can.viewBudgets ? "#/budgets" : undefined),
          item("Users", s.users),
          item("Audit entries (24 h)", s.audit_entries_24h, can.readAudit ? "#/audit" : undefined),
          item("Open escalations", sum(s.escalations_open_by_pattern), can.has("escalation.view") ? "#/escalations" : undefined),
          item("Escalated tasks", s.tasks_by_state["escalated"] ?? 0, can.has("task.view") ? "#/tasks" : undefined),
        ),
        h("h2", {}, "Tasks by state"),
        counts(s.tasks_by_state),
        h("h2", {}, "Agents by status"),
        counts(s.agents_by_status),
        h("p", { class: "muted" }, s.tenant_id ? `Tenant ${s.tenant_id}` : "Whole platform", " · version ", s.version, " · ", time(s.generated_at)),
      );
    })
    .catch((e: unknown) => fill(body, errorBox(e)))
    .finally(() => body.setAttribute("aria-busy", "false"));
}

function sum(m: Record<string, number>): number {
  return Object.values(m).reduce((a, b) => a + b, 0);
}

/** A row of small counts (every key the API answers, zeros included). */
function counts(m: Record<string, number>): HTMLElement {
  return h("ul", { class: "counts" }, Object.entries(m).map(([k, v]) => h("li", {}, h("span", { class: "muted" }, k), " ", h("strong", {}, v))));
}
