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
//	@description				Control-plane API of a multi-agent LLM platform: agents reserve and settle LLM token budgets, operators resolve and requeue dead-lettered messages, circuit breakers guard dependencies. Every error has the shape of the Error model. Log in with POST /api/v1/auth/login, then press Authorize and paste the token (without "Bearer ").
//	@BasePath					/
//	@securityDefinitions.apikey	BearerAuth
//	@in							header
//	@name						Authorization
//	@description				JWT from POST /api/v1/auth/login. Type "Bearer " followed by the token; the UI keeps it across reloads.
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
		return migrate(ctx, args, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, getenv)
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
  healthcheck          exit 0 when GET /health/live on this host's PORT answers 200 (for container HEALTHCHECK)

configuration: environment variables, see .env.example
`
