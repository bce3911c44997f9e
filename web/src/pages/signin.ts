import { api, call, errorBox, useToken } from "../api.js";
import { field, fill, h } from "../dom.js";

/** The sign-in form; onSignedIn runs once the token is stored. */
export function signInPage(notice: HTMLElement | string | undefined, onSignedIn: () => Promise<void>): HTMLElement {
  const username = h("input", { name: "username", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const status = h("div", { class: "status", role: "status" });
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { class: "card signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Control plane console"),
    typeof notice === "string" ? h("p", { class: "notice", role: "status" }, notice) : notice,
    field("Username", username),
    field("Password", password),
    submit,
    status,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    fill(status, "Signing in…");
    call(api.POST("/api/v1/auth/login", { body: { username: username.value, password: password.value } }), { login: true })
      .then((session) => {
        useToken(session.token);
        return onSignedIn();
      })
      .catch((e: unknown) => {
        fill(status, errorBox(e));
        submit.disabled = false;
      });
  });
  queueMicrotask(() => username.focus());
  return h("main", { id: "main", class: "center" }, form);
}
