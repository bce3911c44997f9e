import { Abilities, api, call, errorBox, type Schemas } from "../api.js";
import { fill, h, time } from "../dom.js";

type Breaker = Schemas["CircuitBreaker"];
/** The breakers the API names (an enum of the reset route). */
type BreakerName = "database" | "nats" | "redis";

const every = 5000;

/** The breakers of the replica that answers, refreshed every 5 s. */
export function breakersPage(root: HTMLElement, can: Abilities): () => void {
  const live = h("input", { type: "checkbox", id: "live", checked: true });
  const status = h("p", { class: "status", role: "status" });
  const body = h("tbody");
  const resetAll = can.resetBreakers
    ? h("button", { type: "button", class: "write danger", onclick: () => void reset(undefined) }, "Reset all")
    : null;
  fill(root,
    h("h1", {}, "Circuit breakers"),
    h("div", { class: "toolbar" },
      h("div", { class: "check" }, live, h("label", { for: "live" }, "Live refresh (5 s)")),
      resetAll),
    status,
    h("div", { class: "scroll" }, h("table", {},
      h("thead", {}, h("tr", {},
        ["Name", "State", "Consecutive failures", "Requests", "Failures", "Rejected", "Last change", ""].map((c) =>
          h("th", { scope: "col" }, c || h("span", { class: "visually-hidden" }, "Actions"))))),
      body)),
  );

  let instance = "";
  async function load(): Promise<void> {
    try {
      const list = await call(api.GET("/api/v1/circuit-breakers"));
      instance = list.instance;
      fill(body, list.breakers.map(row));
      fill(status, `Replica ${instance} · refreshed `, time(new Date().toISOString()));
    } catch (e) {
      fill(status, errorBox(e));
    }
  }

  function row(b: Breaker): HTMLElement {
    return h("tr", { "data-name": b.name },
      h("th", { scope: "row" }, b.name),
      h("td", {}, h("span", { class: `badge ${b.state === "closed" ? "ok" : b.state === "open" ? "bad" : "warn"}` }, b.state)),
      h("td", { class: "num" }, b.consecutive_failures), h("td", { class: "num" }, b.total_requests),
      h("td", { class: "num" }, b.total_failures), h("td", { class: "num" }, b.total_rejected),
      h("td", {}, time(b.last_state_change)),
      h("td", {}, can.resetBreakers
        ? h("button", { type: "button", class: "write secondary", "aria-label": `Reset ${b.name}`, onclick: () => void reset(b.name as BreakerName) }, "Reset")
        : null),
    );
  }

  async function reset(name: BreakerName | undefined): Promise<void> {
    fill(status, name ? `Resetting ${name}…` : "Resetting every breaker…");
    try {
      const r = name
        ? await call(api.POST("/api/v1/circuit-breakers/{name}/reset", { params: { path: { name } } }))
        : await call(api.POST("/api/v1/circuit-breakers/reset_all"));
      await load();
      status.prepend(`Reset ${r.breakers.join(", ") || "nothing"}${r.broadcast ? " on every replica" : ""}. `);
    } catch (e) {
      fill(status, errorBox(e));
    }
  }

  const timer = window.setInterval(() => {
    if (live.checked && !document.hidden) void load();
  }, every);
  void load();
  return () => window.clearInterval(timer);
}
