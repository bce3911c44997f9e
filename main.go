// Command control-plane is the control-plane API of the Golden Architecture
// multi-agent LLM platform: token budgets, the dead-letter queue, circuit
// breakers, behind JWT auth, RBAC, rate limits and an audit trail.
//
// With nothing configured (`go run .`) it runs in embedded mode: SQLite in
// DATA_DIR, in-memory stores and an embedded NATS server. DATABASE_URL,
// REDIS_URL and NATS_URL switch to PostgreSQL, Redis and an external NATS.
//
//	@title						Golden Architecture control plane
//	@version					dev
//	@description				Control-plane API of a multi-agent LLM platform: agents reserve and settle LLM token budgets, operators resolve and requeue dead-lettered messages, circuit breakers guard outbound dependencies; everything sits behind JWT auth, role permissions, rate limits and an audit trail.
//	@description
//	@description				**Try it here:** open POST /api/v1/auth/login, press *Try it out*, send `{"username":"admin","password":"admin123"}` (the demo users exist in embedded mode), copy `token` from the answer, press **Authorize** and paste the token (without `Bearer `). The UI keeps the authorization across page reloads.
//	@description
//	@description				Every non-2xx answer has the shape of the **Error** model and carries the `X-Request-ID` header; clients switch on `error_code`, and each documented error status lists, as examples, the codes and messages this operation really answers with. Routes under /api/v1 are rate limited per user (per client IP when anonymous) and send `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`; a 429 adds `Retry-After`.
//	@BasePath					/
//
//	@tag.name					auth
//	@tag.description			Log in for a bearer token, log out (revokes it), and who am I.
//	@tag.name					budget
//	@tag.description			LLM token budgets per tenant and project: reserve before a model call, commit the tokens really used or release, read the state, set limits.
//	@tag.name					dlq
//	@tag.description			Messages that failed processing (NATS JetStream dlq.>): list, inspect, resolve, requeue to the original subject.
//	@tag.name					circuit-breakers
//	@tag.description			Breakers that guard the outbound dependencies: their state, and resets that reach every replica.
//	@tag.name					validate
//	@tag.description			Check LLM answers (synthesis, consensus, patterns) against their schemas before they are used.
//	@tag.name					stats
//	@tag.description			Platform counts, the same on every replica.
//	@tag.name					audit
//	@tag.description			Who did what and when: every state-changing action, with its request id.
//	@tag.name					admin
//	@tag.description			The effective configuration of this replica, secrets masked.
//	@tag.name					infrastructure
//	@tag.description			Outside /api/v1: service name and version, health and readiness probes, Prometheus metrics, the JWKS of the token keys.
//
// The security schemes (BearerAuth) are declared by internal/apispec: swag
// only knows Swagger 2.0 schemes.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Set by -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = "none"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// run dispatches the subcommand; no argument serves HTTP.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := ""
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "", "serve":
		return serve(ctx, getenv, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout)
	case "users":
		return users(ctx, args, getenv, stdin, stdout, stderr)
	case "keys":
		return keys(args, getenv, stdout)
	case "reconcile":
		return reconcile(ctx, getenv, stdout)
	case "healthcheck":
		return healthcheck(ctx, getenv)
	case "smoke":
		return smoke(ctx, args, getenv, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

const usage = `usage: control-plane [command]

commands:
  (none), serve        run the HTTP server (embedded mode unless DATABASE_URL, REDIS_URL, NATS_URL are set)
  migrate              apply pending migrations and print their status
  migrate status       print migration status only
  users create         create an account: --username NAME --role ROLE, password on stdin
  users set-password   change a password: --username NAME, password on stdin
  keys rotate          add a new current RS256 signing key (JWT_KEYS_DIR, else DATA_DIR/keys)
  keys list            list the RS256 keys that sign or still verify tokens
  reconcile            check that every budget's counters match its ledger and reservations
  healthcheck          exit 0 when GET /health/live on this host's PORT answers 200 (for container HEALTHCHECK)
  smoke --base-url URL post-deploy smoke test of a live instance (SMOKE_USERNAME, SMOKE_PASSWORD)

configuration: environment variables, see .env.example
`
