// The operator console: sign-in, then one page per hash route (#/dlq,
// #/budgets, #/keys, ...). Each page is shown in the menu only when /auth/me's
// permissions allow it; the server still checks every call.
import { Abilities, api, call, errorBox, storedToken, useToken, whenUnauthorized } from "./api.js";
import { fill, h } from "./dom.js";
import { auditPage } from "./pages/audit.js";
import { breakersPage } from "./pages/breakers.js";
import { budgetsPage } from "./pages/budgets.js";
import { dlqPage } from "./pages/dlq.js";
import { keysPage } from "./pages/keys.js";
import { overviewPage } from "./pages/overview.js";
import { signInPage } from "./pages/signin.js";
import { escalationsPage, tasksPage } from "./pages/work.js";

/** A page draws itself into root and returns what stops it (timers). */
export type Page = (root: HTMLElement, can: Abilities) => (() => void) | void;

interface Route {
  path: string;
  title: string;
  page: Page;
  allowed: (can: Abilities) => boolean;
}

const routes: Route[] = [
  { path: "overview", title: "Overview", page: overviewPage, allowed: (c) => c.viewStats },
  { path: "dlq", title: "Dead letters", page: dlqPage, allowed: (c) => c.readDLQ },
  { path: "budgets", title: "Budgets", page: budgetsPage, allowed: (c) => c.viewBudgets },
  { path: "breakers", title: "Circuit breakers", page: breakersPage, allowed: (c) => c.viewBreakers },
  { path: "keys", title: "API keys", page: keysPage, allowed: (c) => c.manageKeys },
  { path: "tasks", title: "Tasks", page: tasksPage, allowed: (c) => c.has("task.view") },
  { path: "escalations", title: "Escalations", page: escalationsPage, allowed: (c) => c.has("escalation.view") },
  { path: "audit", title: "Audit", page: auditPage, allowed: (c) => c.readAudit },
];

const app = document.getElementById("app") as HTMLElement;
let can: Abilities | undefined;
let stopPage: (() => void) | void;

function currentPath(): string {
  return location.hash.replace(/^#\/?/, "").split("/")[0] ?? "";
}

function signedOut(notice?: HTMLElement | string): void {
  useToken(undefined);
  can = undefined;
  if (stopPage) stopPage();
  stopPage = undefined;
  document.title = "Sign in — Control plane console";
  fill(app, signInPage(notice, signedIn));
}

async function signedIn(): Promise<void> {
  try {
    can = new Abilities(await call(api.GET("/api/v1/auth/me")));
  } catch (e) {
    signedOut(errorBox(e));
    return;
  }
  render();
}

async function signOut(): Promise<void> {
  try {
    await call(api.POST("/api/v1/auth/logout"));
    signedOut("You are signed out; the token is revoked.");
  } catch (e) {
    // The token is dropped here whatever the server said.
    signedOut(errorBox(e));
  }
}

function render(): void {
  if (!can) return;
  const allowed = routes.filter((r) => r.allowed(can as Abilities));
  const route = allowed.find((r) => r.path === currentPath()) ?? allowed[0];
  if (stopPage) stopPage();
  stopPage = undefined;

  const me = can.me;
  const nav = h(
    "nav",
    { class: "menu", "aria-label": "Pages" },
    h(
      "ul",
      {},
      allowed.map((r) =>
        h("li", {}, h("a", { href: `#/${r.path}`, "aria-current": r === route ? "page" : null }, r.title)),
      ),
    ),
  );
  const header = h(
    "header",
    { class: "top" },
    h("a", { class: "brand", href: "#/" }, "Control plane"),
    nav,
    h(
      "div",
      { class: "who" },
      h("span", { class: "user" }, me.username),
      " ",
      h("span", { class: "badge", title: "role" }, me.role),
      " ",
      h("span", { class: "badge", title: "tenant" }, me.tenant_id ?? "platform"),
      " ",
      h("button", { type: "button", class: "secondary", id: "sign-out", onclick: () => void signOut() }, "Sign out"),
    ),
  );
  const main = h("main", { id: "main", tabindex: "-1" });
  fill(app, h("a", { class: "skip", href: "#main" }, "Skip to content"), header, main);
  if (!route) {
    document.title = "Control plane console";
    fill(main, h("h1", {}, "Nothing to show"), h("p", {}, `The role ${me.role} has no page of this console.`));
    return;
  }
  document.title = `${route.title} — Control plane console`;
  stopPage = route.page(main, can);
}

whenUnauthorized((f) => {
  if (can) signedOut(errorBox(f));
});
window.addEventListener("hashchange", () => {
  // The skip link targets #main: it moves focus, not the page.
  if (location.hash === "#main") return;
  render();
});

const token = storedToken();
if (token) {
  useToken(token);
  void signedIn();
} else {
  signedOut();
}
