// Modal dialogs on the native <dialog> element: the browser keeps the
// focus inside, closes it with Escape and gives the focus back to what had
// it. No window.confirm, which a page cannot style or label.
import { fill, h } from "./dom.js";

type Content = (Node | string | null)[];

let seq = 0;

/**
 * Shows a modal dialog titled title; body gets the function that closes it
 * with a value. Resolves with that value ("" when closed with Escape) once
 * the dialog is closed and removed from the page.
 */
export function openDialog(title: string, body: (close: (value: string) => void) => Content, cls = ""): Promise<string> {
  const id = `dialog-title-${++seq}`;
  const dialog = h("dialog", { class: `dialog ${cls}`.trim(), "aria-labelledby": id });
  const close = (value: string) => dialog.close(value);
  fill(dialog, h("h2", { id }, title), body(close));
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/**
 * Asks before a change: resolves true when the action's button was pressed,
 * false on Cancel or Escape. Cancel has the focus, so Enter does not do it.
 */
export async function confirmAction(title: string, text: Content, action: string, extra: Content = []): Promise<boolean> {
  const answer = await openDialog(title, (close) => {
    const cancel = h("button", { type: "button", class: "secondary", autofocus: true, onclick: () => close("cancel") }, "Cancel");
    return [
      ...text.map((t) => (typeof t === "string" ? h("p", {}, t) : t)),
      ...extra,
      h("div", { class: "actions" }, cancel, h("button", { type: "button", class: "danger confirm", onclick: () => close("ok") }, action)),
    ];
  });
  return answer === "ok";
}
