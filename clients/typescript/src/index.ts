// A thin typed client of the control-plane API. The types come from
// docs/openapi.json (npm run generate writes src/schema.d.ts); openapi-fetch
// turns them into typed calls:
//
//   const api = createControlPlaneClient({ baseUrl: "http://127.0.0.1:8000" });
//   const session = unwrap(await api.POST("/api/v1/auth/login", { body: { username, password } }));
//   api.setToken(session.token);
//   const { data, error } = await api.POST("/api/v1/budget/request", { body: { ... } });
//
// Every error answer is the Error model; switch on error.error_code.
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

/** The models of the API by name (Reservation, BudgetState, Error, ...). */
export type Schemas = components["schemas"];

/** The one shape of every non-2xx answer. */
export type ApiError = Schemas["Error"];

/** The error codes clients may switch on. */
export type ErrorCode = ApiError["error_code"];

export interface ClientOptions {
  /** Where the service runs, e.g. "http://127.0.0.1:8000" (paths start with /api/v1). */
  baseUrl: string;
  /** A bearer token to start with (the token of POST /api/v1/auth/login). */
  token?: string;
  /** Another fetch, e.g. one with a proxy or in tests. */
  fetch?: typeof globalThis.fetch;
}

export interface ControlPlaneClient extends Client<paths> {
  /** Sends "Authorization: Bearer <token>" from now on; undefined stops it. */
  setToken(token: string | undefined): void;
}

/** Creates a client whose calls are typed by the API description. */
export function createControlPlaneClient(options: ClientOptions): ControlPlaneClient {
  let token = options.token;
  const client = createClient<paths>({
    baseUrl: options.baseUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const auth: Middleware = {
    onRequest({ request }) {
      if (token !== undefined && !request.headers.has("Authorization")) {
        request.headers.set("Authorization", `Bearer ${token}`);
      }
      return request;
    },
  };
  client.use(auth);
  return Object.assign(client, {
    setToken(t: string | undefined) {
      token = t;
    },
  });
}

/** An error answer of the API, thrown by unwrap. */
export class ControlPlaneError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly body: ApiError;

  constructor(status: number, body: ApiError) {
    super(`${status} ${body.error_code}: ${body.message} (request ${body.request_id})`);
    this.name = "ControlPlaneError";
    this.status = status;
    this.code = body.error_code;
    this.body = body;
  }
}

/**
 * Returns the data of a call's answer, or throws ControlPlaneError with the
 * Error model of a non-2xx answer.
 */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || result.data === undefined) {
    throw new ControlPlaneError(result.response.status, result.error as ApiError);
  }
  return result.data;
}
