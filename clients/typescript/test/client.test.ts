// The client against a live server that this test builds and starts in
// embedded mode (SQLite, in-memory stores, embedded NATS) on a free loopback
// port: log in, reserve, commit, read the budget; and the typed errors.
//
// Who logs in and which budget is spent are the constants below (or the
// CP_USERNAME, CP_PASSWORD, CP_TENANT variables): adjust them when
// permissions or tenants change. CONTROL_PLANE_BIN runs a binary you built
// instead of building one.
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";

import { ControlPlaneError, createControlPlaneClient, unwrap, type ErrorCode } from "../src/index.js";

const USERNAME = process.env.CP_USERNAME ?? "admin"; // needs the permission to spend budgets
const PASSWORD = process.env.CP_PASSWORD ?? "admin123";
const TENANT = process.env.CP_TENANT ?? "acme";
const PROJECT = `ts-client-${process.pid}`;

// dist/test/client.test.js -> the repository root
const repoRoot = resolve(import.meta.dirname, "..", "..", "..", "..");

let server: ChildProcess | undefined;
let output = "";
let baseUrl = "";
const dataDir = mkdtempSync(join(tmpdir(), "control-plane-ts-"));

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => (typeof addr === "object" && addr ? ok(addr.port) : fail(new Error("no port"))));
    });
  });
}

before(async () => {
  let bin = process.env.CONTROL_PLANE_BIN;
  if (!bin) {
    bin = join(dataDir, "control-plane");
    execFileSync("go", ["build", "-o", bin, "."], { cwd: repoRoot, stdio: "inherit", timeout: 600_000 });
  }
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOST: "127.0.0.1",
    PORT: String(port),
    DATA_DIR: join(dataDir, "data"),
    SEED_DEMO_USERS: "true",
    LOG_LEVEL: "warn",
  };
  // Embedded mode whatever the caller's environment says.
  for (const k of ["DATABASE_URL", "REDIS_URL", "NATS_URL"]) delete env[k];
  server = spawn(bin, [], { env, stdio: ["ignore", "pipe", "pipe"] });
  server.stdout?.on("data", (b: Buffer) => (output += b.toString()));
  server.stderr?.on("data", (b: Buffer) => (output += b.toString()));

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${baseUrl}/health/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the server was not ready within 60 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
});

after(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server?.once("exit", r));
    server.kill("SIGTERM");
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

async function login() {
  const api = createControlPlaneClient({ baseUrl });
  const session = unwrap(await api.POST("/api/v1/auth/login", { body: { username: USERNAME, password: PASSWORD } }));
  assert.equal(session.token_type, "Bearer");
  api.setToken(session.token);
  return api;
}

test("log in, reserve and commit a budget", async () => {
  const api = await login();

  const approval = unwrap(
    await api.POST("/api/v1/budget/request", {
      params: { header: { "Idempotency-Key": `reserve-${PROJECT}` } },
      body: { tenant_id: TENANT, project_id: PROJECT, task_id: "task-42", model: "gpt-4o", estimated_tokens: 1500 },
    }),
  );
  assert.equal(approval.approved, true);
  assert.equal(approval.allocated, 1500);
  assert.ok(Date.parse(approval.expires_at) > Date.now(), `expires_at ${approval.expires_at}`);

  const mid = unwrap(await api.GET("/api/v1/budget/state", { params: { query: { tenant_id: TENANT, project_id: PROJECT } } }));
  assert.equal(mid.reserved, 1500);
  assert.equal(mid.pending_reservations, 1);

  const settled = unwrap(
    await api.POST("/api/v1/budget/commit", {
      body: { tenant_id: TENANT, project_id: PROJECT, reservation_id: approval.reservation_id, actual_tokens: 1320 },
    }),
  );
  assert.deepEqual(settled, { status: "committed", reservation_id: approval.reservation_id, tokens: 1320 });

  const state = unwrap(await api.GET("/api/v1/budget/state", { params: { query: { tenant_id: TENANT, project_id: PROJECT } } }));
  assert.equal(state.used, 1320);
  assert.equal(state.reserved, 0);
  assert.equal(state.available, state.total - 1320);
});

test("errors come back as the typed Error model", async () => {
  const api = await login();
  const approval = unwrap(
    await api.POST("/api/v1/budget/request", {
      body: { tenant_id: TENANT, project_id: PROJECT, task_id: "task-43", model: "gpt-4o", estimated_tokens: 10 },
    }),
  );
  const settle = { tenant_id: TENANT, project_id: PROJECT, reservation_id: approval.reservation_id };
  unwrap(await api.POST("/api/v1/budget/release", { body: settle }));

  const { data, error, response } = await api.POST("/api/v1/budget/commit", { body: { ...settle, actual_tokens: 5 } });
  assert.equal(data, undefined);
  assert.equal(response.status, 409);
  const code: ErrorCode | undefined = error?.error_code;
  assert.equal(code, "state.conflict");
  assert.match(error?.request_id ?? "", /^[0-9a-f]{32}$/);

  const anonymous = createControlPlaneClient({ baseUrl });
  await assert.rejects(
    async () => unwrap(await anonymous.GET("/api/v1/auth/me")),
    (e: unknown) => e instanceof ControlPlaneError && e.status === 401 && e.code === "auth.unauthorized",
  );
});
