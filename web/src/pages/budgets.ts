import { Abilities, api, call, errorBox, type Schemas } from "../api.js";
import { field, fill, h, latest, time } from "../dom.js";
import { Pager } from "../pager.js";

type State = Schemas["BudgetState"];
type Usage = Schemas["UsageTotals"];

/**
 * A tenant/project budget: its state as numbers and a bar, the limit form
 * (budget.configure), the LLM gateway's usage by model over a time range
 * (GET /usage; an empty state while the gateway has no calls) and its open
 * reservations. A tenant-bound principal
 * sees its own tenant only; a platform one picks any.
 */
export function budgetsPage(root: HTMLElement, can: Abilities): void {
  const own = can.me.tenant_id;
  const tenant = h("input", { name: "tenant_id", required: true, list: "tenant-list", value: own ?? "", readonly: own !== null });
  const project = h("input", { name: "project_id", required: true, value: sessionStorage.getItem("console.project") ?? "" });
  const tenants = h("datalist", { id: "tenant-list" });
  const pick = h("form", { class: "filters", "aria-label": "Choose a budget" },
    field("Tenant", tenant, own ? "your tenant" : undefined), field("Project", project), tenants,
    h("button", { type: "submit" }, "Show"));
  const state = h("section", { class: "card", "aria-labelledby": "state-title", "aria-live": "polite" },
    h("h2", { id: "state-title" }, "State"), h("p", { class: "muted" }, "Choose a tenant and a project."));
  const limitSection = can.configureBudgets ? limitForm() : null;
  const resStatus = h("p", { class: "status", role: "status" });
  const resBody = h("tbody");
  const pager = new Pager(() => void loadReservations());
  const reservations = h("section", { class: "card", "aria-labelledby": "res-title" },
    h("h2", { id: "res-title" }, "Open reservations"), resStatus,
    h("div", { class: "scroll" }, h("table", {},
      h("thead", {}, h("tr", {}, ["Task", "Model", "Tokens", "By", "Created", "Expires"].map((c) => h("th", { scope: "col" }, c)))),
      resBody)),
    pager.el);
  const range = h("select", { name: "range" }, ranges.map(([hours, label]) => h("option", { value: hours }, label)));
  const usageStatus = h("div", { class: "status", role: "status" });
  const usageBody = h("tbody"), usageFoot = h("tfoot");
  const usageTable = h("table", { class: "usage", hidden: true },
    h("thead", {}, h("tr", {}, ["Model", "Calls", "Prompt tokens", "Completion tokens", "Total tokens", "Cost (USD)"].map((c, i) =>
      h("th", { scope: "col", class: i ? "num" : null }, c)))),
    usageBody, usageFoot);
  const usage = h("section", { class: "card", "aria-labelledby": "usage-title", "aria-busy": "false" },
    h("div", { class: "card-head" }, h("h2", { id: "usage-title" }, "Usage by model"), field("Time range", range)),
    usageStatus, h("div", { class: "scroll" }, usageTable));
  fill(root, h("h1", {}, "Budgets"), pick, h("div", { class: "grid" }, state, limitSection), usage, reservations);

  if (can.listTenants) {
    call(api.GET("/api/v1/tenants", { params: { query: { limit: 200 } } }))
      .then((p) => fill(tenants, p.items.map((t) => h("option", { value: t.id }, t.name))))
      .catch(() => {}); // only suggestions: typing a tenant id still works
  }

  function chosen(): { tenant_id: string; project_id: string } | undefined {
    const t = tenant.value.trim(), p = project.value.trim();
    return t && p ? { tenant_id: t, project_id: p } : undefined;
  }

  const freshState = latest(), freshReservations = latest();
  async function loadState(): Promise<void> {
    const q = chosen();
    if (!q) return;
    const current = freshState();
    state.setAttribute("aria-busy", "true");
    try {
      const s = await call(api.GET("/api/v1/budget/state", { params: { query: q } }));
      if (!current()) return;
      fill(state, h("h2", { id: "state-title" }, `State of ${s.tenant_id} / ${s.project_id}`), showState(s));
    } catch (e) {
      if (current()) fill(state, h("h2", { id: "state-title" }, "State"), errorBox(e));
    } finally {
      state.setAttribute("aria-busy", "false");
    }
  }

  async function loadReservations(): Promise<void> {
    const q = chosen();
    if (!q) return;
    const current = freshReservations();
    fill(resStatus, "Loading…");
    try {
      const query: Record<string, string | number> = { ...q, status: "pending" };
      if (pager.cursor) query.cursor = pager.cursor;
      const page = await call(api.GET("/api/v1/budget/reservations", { params: { query } }));
      if (!current()) return;
      pager.loaded(page.next_cursor);
      fill(resStatus, page.items.length ? "" : "No open reservations.");
      fill(resBody, page.items.map((r) => h("tr", {},
        h("td", {}, r.task_id), h("td", {}, r.model), h("td", { class: "num" }, r.tokens.toLocaleString()),
        h("td", {}, r.principal_id ?? r.created_by), h("td", {}, time(r.created_at)), h("td", {}, time(r.expires_at)))));
    } catch (e) {
      if (!current()) return;
      fill(resStatus, errorBox(e));
      fill(resBody);
    }
  }

  const freshUsage = latest();
  async function loadUsage(): Promise<void> {
    const q = chosen();
    if (!q) return;
    const current = freshUsage();
    const hours = Number(range.value);
    usage.setAttribute("aria-busy", "true");
    fill(usageStatus, "Loading…");
    try {
      const since = new Date(Date.now() - hours * 3_600_000).toISOString();
      const r = await call(api.GET("/api/v1/usage", { params: { query: { ...q, since } } }));
      if (!current()) return;
      const label = ranges.find(([h]) => h === hours)?.[1] ?? `the last ${hours} hours`;
      usageTable.hidden = r.by_model.length === 0;
      fill(usageStatus, r.by_model.length ? "" : `No LLM gateway calls on this budget in ${label}.`);
      fill(usageBody, r.by_model.map((m) => usageRow(m.model, m)));
      fill(usageFoot, r.by_model.length > 1 ? usageRow("All models", r.total) : null);
    } catch (e) {
      if (!current()) return;
      usageTable.hidden = true;
      fill(usageStatus, errorBox(e));
    } finally {
      if (current()) usage.setAttribute("aria-busy", "false");
    }
  }
  range.addEventListener("change", () => void loadUsage());

  function limitForm(): HTMLElement {
    const total = h("input", { name: "total_limit", type: "number", min: 0, step: 1, required: true });
    const submit = h("button", { type: "submit" }, "Set limit");
    const result = h("div", { class: "status", role: "status" });
    const form = h("form", { class: "card write", "aria-labelledby": "limit-title" },
      h("h2", { id: "limit-title" }, "Limit"),
      field("Total tokens", total, "Creates the budget when it is new; below used + reserved, new requests are refused."),
      submit, result);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const q = chosen();
      if (!q) {
        fill(result, "Choose a tenant and a project first.");
        return;
      }
      submit.disabled = true;
      fill(result, "Saving…");
      call(api.PUT("/api/v1/budget/limits", { body: { ...q, total_limit: Number(total.value) } }))
        .then((s) => {
          fill(result, `Limit set to ${s.total.toLocaleString()}.`);
          fill(state, h("h2", { id: "state-title" }, `State of ${s.tenant_id} / ${s.project_id}`), showState(s));
        })
        .catch((e: unknown) => fill(result, errorBox(e)))
        .finally(() => { submit.disabled = false; });
    });
    return form;
  }

  pick.addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem("console.project", project.value.trim());
    pager.reset();
    void loadState();
    void loadUsage();
    void loadReservations();
  });
  if (chosen()) {
    void loadState();
    void loadUsage();
    void loadReservations();
  }
}

/** The time ranges of the usage panel: hours back from now, and their words. */
const ranges: [number, string][] = [[24, "the last 24 hours"], [24 * 7, "the last 7 days"], [24 * 30, "the last 30 days"]];

const usd = new Intl.NumberFormat(undefined, { style: "currency", currency: "USD", maximumFractionDigits: 6 });

/** One line of the usage table: a model's sums, or the total's. */
function usageRow(name: string, u: Usage): HTMLElement {
  const n = (v: number) => h("td", { class: "num" }, v.toLocaleString());
  return h("tr", { "data-model": name },
    h("th", { scope: "row" }, name), n(u.calls), n(u.prompt_tokens), n(u.completion_tokens),
    h("td", { class: "num", "data-field": "total_tokens" }, u.total_tokens.toLocaleString()),
    h("td", { class: "num", "data-field": "cost" }, usd.format(u.cost_usd)));
}

/** The numbers, and a bar of used, reserved and available of the total. */
function showState(s: State): HTMLElement[] {
  const total = Math.max(s.total, s.used + s.reserved, 1);
  const part = (cls: string, n: number) => {
    const el = h("span", { class: cls });
    el.style.width = `${(100 * n) / total}%`; // CSSOM, which the CSP allows
    return el;
  };
  const n = (v: number) => v.toLocaleString();
  return [
    h("div", { class: "bar", role: "img", "aria-label": `${n(s.used)} used, ${n(s.reserved)} reserved, ${n(s.available)} available of ${n(s.total)}` },
      part("used", s.used), part("reserved", s.reserved), part("available", s.available)),
    h("dl", { class: "facts numbers" },
      h("dt", {}, "Total"), h("dd", { "data-field": "total" }, n(s.total)),
      h("dt", {}, h("span", { class: "key used" }), "Used"), h("dd", { "data-field": "used" }, n(s.used)),
      h("dt", {}, h("span", { class: "key reserved" }), "Reserved"), h("dd", { "data-field": "reserved" }, n(s.reserved)),
      h("dt", {}, h("span", { class: "key available" }), "Available"), h("dd", { "data-field": "available" }, n(s.available)),
      s.overdrawn ? [h("dt", {}, "Overdrawn"), h("dd", { "data-field": "overdrawn" }, n(s.overdrawn))] : null,
      h("dt", {}, "Pending reservations"), h("dd", { "data-field": "pending" }, n(s.pending_reservations)),
    ),
  ];
}
