// The generated client of the API, the session and the one way errors are
// shown. The token lives in sessionStorage (gone when the tab closes, never
// in localStorage) and in memory.
import {
  createControlPlaneClient,
  type ApiError,
  type Schemas,
} from "../../clients/typescript/src/index.js";
import { h } from "./dom.js";

export type { Schemas };
export type Me = Schemas["CurrentUser"];

const tokenKey = "console.token";

export const api = createControlPlaneClient({ baseUrl: location.origin });

/** The token of this tab's session, if signed in. */
export function storedToken(): string | undefined {
  return sessionStorage.getItem(tokenKey) ?? undefined;
}

/**
 * Starts using token for every call, or stops when undefined and forgets
 * everything the tab kept of the session (the token, the last project).
 */
export function useToken(token: string | undefined): void {
  if (token === undefined) sessionStorage.clear();
  else sessionStorage.setItem(tokenKey, token);
  api.setToken(token);
}

/** A failed call: the API's error answer, or a network failure (status 0). */
export class Failure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | undefined,
  ) {
    super(message);
  }
}

/** Called with every 401 but the login's, so the console can sign out. */
let onUnauthorized: (f: Failure) => void = () => {};
export function whenUnauthorized(fn: (f: Failure) => void): void {
  onUnauthorized = fn;
}

/**
 * Awaits a call of the client and returns its data, or throws a Failure
 * that carries the error's code, message and request id.
 */
export async function call<T>(
  request: Promise<{ data?: T; error?: unknown; response: Response }>,
  opts: { login?: boolean } = {},
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await request;
  } catch (e) {
    throw new Failure(0, "network", `the server could not be reached (${String(e)})`, undefined);
  }
  const { data, error, response } = result;
  if (error === undefined && response.ok) return data as T;
  const body = (error ?? {}) as Partial<ApiError>;
  const failure = new Failure(
    response.status,
    body.error_code ?? `http.${response.status}`,
    body.message ?? response.statusText,
    body.request_id ?? response.headers.get("X-Request-ID") ?? undefined,
  );
  if (response.status === 401 && !opts.login) onUnauthorized(failure);
  throw failure;
}

/** The error box: status, code, message and the request id to quote. */
export function errorBox(e: unknown): HTMLElement {
  const f = e instanceof Failure ? e : new Failure(0, "console.error", String(e), undefined);
  return h(
    "div",
    { class: "error", role: "alert" },
    h("strong", {}, f.status ? `${f.status} ${f.code}` : f.code),
    " ",
    h("span", { class: "error-message" }, f.message),
    f.requestId ? h("span", { class: "request-id" }, " request id ", h("code", {}, f.requestId)) : null,
  );
}

/**
 * What the signed-in principal may do, read from /auth/me. The server stays
 * the authority: these only decide which controls are shown. Platform-level
 * routes (DLQ, breakers, audit, tenants) need a principal bound to no tenant.
 */
export class Abilities {
  private readonly perms: Set<string>;
  readonly platform: boolean;

  constructor(readonly me: Me) {
    this.perms = new Set(me.permissions);
    this.platform = me.tenant_id === null;
  }

  has(p: string): boolean {
    return this.perms.has(p);
  }

  get viewStats(): boolean { return this.has("metrics.view"); }
  get readDLQ(): boolean { return this.platform && this.has("dlq.read"); }
  get resolveDLQ(): boolean { return this.platform && this.has("system.admin"); }
  get viewBudgets(): boolean { return this.has("budget.view"); }
  get configureBudgets(): boolean { return this.has("budget.configure"); }
  get listTenants(): boolean { return this.platform && this.has("system.admin"); }
  get viewBreakers(): boolean { return this.platform && this.has("metrics.view"); }
  get resetBreakers(): boolean { return this.platform && this.has("system.admin"); }
  get readAudit(): boolean { return this.platform && this.has("system.admin"); }
  get manageKeys(): boolean { return this.has("key.manage"); }
}
