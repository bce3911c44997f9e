// A few lines of DOM building instead of a UI framework. Text always goes in
// as text nodes, never as HTML, so nothing the API answers can become markup
// (the Content-Security-Policy forbids inline scripts and styles as well).

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** Builds an element: h("button", { type: "button", onclick: fn }, "Reset"). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") {
      el.addEventListener(name.replace(/^on/, ""), value);
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el: Node, children: (Child | Child[])[]): void {
  for (const c of children) {
    if (Array.isArray(c)) append(el, c);
    else if (c === null || c === undefined || c === false) continue;
    else el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the content of el. */
export function fill(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A local time of an RFC 3339 timestamp, with the original in the title. */
export function time(iso: string | null | undefined): HTMLElement | string {
  if (!iso) return "—";
  const d = new Date(iso);
  return h("time", { datetime: iso, title: iso }, d.toLocaleString());
}

/** The value of a datetime-local input as RFC 3339, or undefined. */
export function rfc3339(input: HTMLInputElement): string | undefined {
  if (!input.value) return undefined;
  const d = new Date(input.value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** A labelled form field; the label is tied to the control by id. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || `f-${label.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-${++fieldSeq}`;
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("small", {}, hint) : null);
}
let fieldSeq = 0;

/**
 * Orders the answers of a repeated request (a list reloaded by a filter or
 * a pager): each call of the result starts a request and returns a check
 * that holds while no later one was started, so an older answer arriving
 * late never overwrites a newer one.
 */
export function latest(): () => () => boolean {
  let n = 0;
  return () => {
    const mine = ++n;
    return () => mine === n;
  };
}
