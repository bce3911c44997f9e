import { Abilities, api, call, errorBox, type Schemas } from "../api.js";
import { field, fill, h, latest, rfc3339, time } from "../dom.js";
import { Pager } from "../pager.js";

type Summary = Schemas["DLQMessageSummary"];
type Message = Schemas["DLQMessage"];

/**
 * Dead letters: filters, a list that the arrow keys (or j/k) walk, and the
 * detail of the selected message with its payload, headers and the resolve
 * form (note, optional requeue).
 */
export function dlqPage(root: HTMLElement, can: Abilities): void {
  const subject = h("input", { name: "subject", placeholder: "orders.created or orders.>" });
  const state = h("select", { name: "resolved" },
    h("option", { value: "false" }, "Unresolved"),
    h("option", { value: "true" }, "Resolved"),
  );
  const since = h("input", { name: "since", type: "datetime-local" });
  const until = h("input", { name: "until", type: "datetime-local" });
  const filters = h("form", { class: "filters", role: "search", "aria-label": "Filter dead letters" },
    field("Subject", subject), field("State", state), field("Since", since), field("Until", until),
    h("button", { type: "submit" }, "Apply"),
  );
  const status = h("p", { class: "status", role: "status" });
  const list = h("ul", { class: "rows", "aria-label": "Dead letters" });
  const pager = new Pager(() => void load());
  const detail = h("section", { class: "detail", "aria-label": "Message", "aria-live": "polite" },
    h("p", { class: "muted" }, "Select a message to see its payload and headers."));
  fill(root,
    h("h1", {}, "Dead letters"),
    filters,
    h("div", { class: "split" },
      h("section", { class: "list", "aria-label": "Messages" }, status, list, pager.el),
      detail),
  );

  let selected: string | undefined;
  const fresh = latest();
  async function load(): Promise<void> {
    const current = fresh();
    list.setAttribute("aria-busy", "true");
    fill(status, "Loading…");
    try {
      const query: Record<string, string | number | boolean> = { resolved: state.value === "true" };
      if (subject.value.trim()) query.subject = subject.value.trim();
      const s = rfc3339(since), u = rfc3339(until);
      if (s) query.since = s;
      if (u) query.until = u;
      if (pager.cursor) query.cursor = pager.cursor;
      const page = await call(api.GET("/api/v1/dlq", { params: { query } }));
      if (!current()) return;
      pager.loaded(page.next_cursor);
      fill(status, page.items.length ? `${page.items.length} message(s) on this page. ↑/↓ or j/k move, Enter opens.` : "No messages match.");
      fill(list, page.items.map(row));
    } catch (e) {
      if (current()) fill(status, errorBox(e));
    } finally {
      if (current()) list.setAttribute("aria-busy", "false");
    }
  }

  function row(m: Summary): HTMLElement {
    return h("li", {},
      h("button", {
        type: "button", class: "row", "data-id": m.id,
        "aria-pressed": m.id === selected ? "true" : "false",
        onclick: () => void open(m.id),
      },
      h("span", { class: "row-title" }, m.original_subject),
      h("span", { class: m.resolved ? "badge ok" : "badge warn" }, m.resolved ? "resolved" : "unresolved"),
      h("span", { class: "row-meta" }, m.error || "no error header", ` · ${m.attempts} attempt(s) · `, time(m.created_at)),
      h("code", { class: "row-preview" }, m.data_preview),
      ),
    );
  }

  // Keyboard: arrows or j/k move between the rows; Enter/Space open one.
  list.addEventListener("keydown", (ev) => {
    const rows = Array.from(list.querySelectorAll<HTMLButtonElement>("button.row"));
    const at = rows.indexOf(document.activeElement as HTMLButtonElement);
    let to = -1;
    if (ev.key === "ArrowDown" || ev.key === "j") to = Math.min(at + 1, rows.length - 1);
    else if (ev.key === "ArrowUp" || ev.key === "k") to = Math.max(at - 1, 0);
    else if (ev.key === "Home") to = 0;
    else if (ev.key === "End") to = rows.length - 1;
    const target = rows[to];
    if (target) {
      ev.preventDefault();
      target.focus();
    }
  });

  async function open(id: string, notice?: string): Promise<void> {
    selected = id;
    for (const b of list.querySelectorAll<HTMLButtonElement>("button.row")) {
      b.setAttribute("aria-pressed", b.dataset.id === id ? "true" : "false");
    }
    detail.setAttribute("aria-busy", "true");
    fill(detail, h("p", {}, "Loading…"));
    try {
      const m = await call(api.GET("/api/v1/dlq/{id}", { params: { path: { id } } }));
      if (selected === id) fill(detail, notice ? h("p", { class: "notice", role: "status" }, notice) : null, show(m));
    } catch (e) {
      if (selected === id) fill(detail, errorBox(e));
    } finally {
      detail.setAttribute("aria-busy", "false");
    }
  }

  function show(m: Message): HTMLElement[] {
    const headers = Object.entries(m.headers ?? {});
    const out: HTMLElement[] = [
      h("h2", {}, m.original_subject),
      h("dl", { class: "facts" },
        h("dt", {}, "Id"), h("dd", {}, h("code", {}, m.id)),
        h("dt", {}, "Stream sequence"), h("dd", {}, m.stream_seq),
        h("dt", {}, "Error"), h("dd", {}, m.error || "—"),
        h("dt", {}, "Attempts"), h("dd", {}, m.attempts),
        h("dt", {}, "Dead-lettered"), h("dd", {}, time(m.created_at)),
        h("dt", {}, "State"), h("dd", { class: "state" }, m.resolved
          ? `resolved by ${m.resolved_by ?? "?"}${m.requeue_count ? `, requeued ${m.requeue_count}×` : ""}`
          : "unresolved"),
        m.resolved ? [h("dt", {}, "Resolved"), h("dd", {}, time(m.resolved_at))] : null,
        m.resolution_notes ? [h("dt", {}, "Note"), h("dd", {}, m.resolution_notes)] : null,
      ),
      h("h3", {}, "Payload", m.data_encoding === "base64" ? " (base64: not UTF-8)" : ""),
      h("pre", { class: "payload", tabindex: "0", "aria-label": "Payload" }, pretty(m.data, m.data_encoding)),
      h("h3", {}, "Headers"),
      headers.length
        ? h("table", {},
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Header"), h("th", { scope: "col" }, "Value"))),
            h("tbody", {}, headers.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v.join(", "))))))
        : h("p", { class: "muted" }, "No headers."),
    ];
    if (!m.resolved && can.resolveDLQ) out.push(resolveForm(m));
    return out;
  }

  function resolveForm(m: Message): HTMLElement {
    const note = h("textarea", { name: "note", required: true, rows: 2, maxlength: 1000 });
    const requeue = h("input", { name: "requeue", type: "checkbox" });
    const submit = h("button", { type: "submit" }, "Resolve");
    const result = h("div", { class: "status", role: "status" });
    const form = h("form", { class: "write resolve", "aria-label": "Resolve this message" },
      h("h3", {}, "Resolve"),
      field("Note", note),
      h("div", { class: "check" }, requeue, h("label", { for: "requeue-" + m.id }, `Requeue to ${m.original_subject}`)),
      submit, result);
    requeue.id = "requeue-" + m.id;
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      submit.disabled = true;
      fill(result, "Resolving…");
      call(api.POST("/api/v1/dlq/{id}/resolve", { params: { path: { id: m.id } }, body: { note: note.value, requeue: requeue.checked } }))
        .then((r) => {
          void load();
          return open(m.id, r.requeued ? `Resolved and requeued to ${m.original_subject}.` : "Resolved.");
        })
        .catch((e: unknown) => {
          fill(result, errorBox(e));
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

/** JSON payloads indented; anything else as it came. */
function pretty(data: string, encoding: string): string {
  if (encoding !== "utf-8") return data;
  try {
    return JSON.stringify(JSON.parse(data), null, 2);
  } catch {
    return data;
  }
}
