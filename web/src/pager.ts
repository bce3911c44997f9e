// Cursor paging: the API answers next_cursor (null on the last page); the
// pager keeps the cursors of the pages seen, so it can also go back.
import { h } from "./dom.js";

export class Pager {
  private cursors: (string | undefined)[] = [undefined];
  private next: string | null = null;
  readonly el: HTMLElement;
  private readonly prevBtn: HTMLButtonElement;
  private readonly nextBtn: HTMLButtonElement;
  private readonly label: HTMLElement;

  constructor(private readonly load: () => void) {
    this.prevBtn = h("button", { type: "button", class: "secondary", onclick: () => this.go(-1) }, "← Previous page");
    this.nextBtn = h("button", { type: "button", class: "secondary", onclick: () => this.go(1) }, "Next page →");
    this.label = h("span", { class: "page-label" });
    this.el = h("nav", { class: "pager", "aria-label": "Pages" }, this.prevBtn, this.label, this.nextBtn);
    this.update();
  }

  /** The cursor of the page to load (undefined for the first). */
  get cursor(): string | undefined {
    return this.cursors[this.cursors.length - 1];
  }

  /** Back to the first page, e.g. when the filters change. */
  reset(): void {
    this.cursors = [undefined];
    this.next = null;
    this.update();
  }

  /** Takes the next_cursor of the page just loaded. */
  loaded(next: string | null | undefined): void {
    this.next = next ?? null;
    this.update();
  }

  private go(step: number): void {
    if (step > 0 && this.next) this.cursors.push(this.next);
    else if (step < 0 && this.cursors.length > 1) this.cursors.pop();
    else return;
    this.update();
    this.load();
  }

  private update(): void {
    this.prevBtn.disabled = this.cursors.length <= 1;
    this.nextBtn.disabled = this.next === null;
    this.label.textContent = `Page ${this.cursors.length}`;
  }
}
