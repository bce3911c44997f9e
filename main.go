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
//	@tag.description			Log in for a bearer token, log out (revokes it), who am I, and change my own password.
//	@tag.name					budget
//	@tag.description			LLM token budgets per tenant and project: reserve before a model call, commit the tokens really used or release, read the state, set limits. A caller bound to a tenant acts in its own tenant only; another tenant is 404.
//	@tag.name					llm
//	@tag.description			The LLM gateway: OpenAI-compatible chat completions (streaming included) and the model list, so any OpenAI SDK pointed at …/api/v1 works; every call is reserved on, and billed to, the caller's tenant/project budget.
//	@tag.name					tenants
//	@tag.description			The teams or customers whose users and budgets belong together (platform admins only).
//	@tag.name					users
//	@tag.description			User accounts: create, list, change role, tenant or disabled, reset passwords (platform admins only; the users subcommand of the CLI does the same).
//	@tag.name					tasks
//	@tag.description			A tenant's work: tasks with a state machine (pending → running → review → completed; escalated while an escalation is open; failed or cancelled), optimistic concurrency by version, and each task's history.
//	@tag.name					agents
//	@tag.description			The agents of a tenant that tasks are assigned to: role, status (only an active agent takes tasks), metadata.
//	@tag.name					escalations
//	@tag.description			Tasks that need a human: opening one moves the task to escalated, resolving the last open one returns it to running; each is resolved exactly once.
//	@tag.name					keys
//	@tag.description			API keys of automated clients (gak_…, sent as Authorization: Bearer or X-API-Key): create (the secret is shown once), list, revoke, rotate with a grace period. A caller bound to a tenant manages its own tenant's keys only.
//	@tag.name					learning
//	@tag.description			What agents learn: the versions of each role's prompt (the newest approved is current), the governance rule per role and tenant (daily cap, cooldown, human approval), proposals decided atomically across replicas, and their approval or rejection by a human.
//	@tag.name					reviews
//	@tag.description			Peer reviews of a task: invited agents vote with weights; the quorum decides, and a failed review escalates the task.
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
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
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

// run dispatches the subcommand; no argument serves HTTP. Every subcommand
// answers -h/--help with its usage on stdout and a nil error (exit 0).
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := ""
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "", "serve":
		if done, err := parseFlags(flag.NewFlagSet("serve", flag.ContinueOnError), serveUsage, args, stdout); done || err != nil {
			return err
		}
		return serve(ctx, getenv, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout)
	case "users":
		return users(ctx, args, getenv, stdin, stdout, stderr)
	case "keys":
		return keys(args, getenv, stdout)
	case "apikeys":
		return apikeysCmd(ctx, args, getenv, stdout, stderr)
	case "reconcile":
		return reconcile(ctx, args, getenv, stdout)
	case "dlq":
		return dlqCmd(ctx, args, getenv, stdout)
	case "healthcheck":
		if done, err := parseFlags(flag.NewFlagSet("healthcheck", flag.ContinueOnError), healthcheckUsage, args, stdout); done || err != nil {
			return err
		}
		return healthcheck(ctx, getenv)
	case "smoke":
		return smoke(ctx, args, getenv, stdout)
	case "version", "--version", "-version":
		if done, err := parseFlags(flag.NewFlagSet("version", flag.ContinueOnError), versionUsage, args, stdout); done || err != nil {
			return err
		}
		fmt.Fprintln(stdout, versionLine())
		return nil
	case "help", "-h", "-help", "--help":
		if len(args) > 0 && args[0] != "help" && !isHelp(args[0]) { // help COMMAND is COMMAND --help
			return run(ctx, append(args, "--help"), getenv, stdin, stdout, stderr)
		}
		fmt.Fprint(stdout, usage())
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage())
}

// command is one line of `help`.
type command struct{ name, summary string }

// commands lists every subcommand for `help`, one line each; a test runs each
// with --help.
func commands() []command {
	return []command{
		{"serve", "run the HTTP server (the default; embedded mode unless DATABASE_URL, REDIS_URL, NATS_URL are set)"},
		{"migrate", "apply pending migrations and print their status"},
		{"migrate status", "print the migration status only"},
		{"users create", "create an account (password asked without echo, or the first line of stdin)"},
		{"users set-password", "change a password (asked the same way); tokens issued before stop verifying"},
		{"keys rotate", "add a new current RS256 signing key (JWT_KEYS_DIR, else DATA_DIR/keys)"},
		{"keys list", "list the RS256 keys that sign or still verify tokens"},
		{"apikeys create", "create an API key for an automated client and print its secret once"},
		{"apikeys list", "list the API keys (never their secrets)"},
		{"apikeys revoke", "revoke an API key (servers refuse it within one second)"},
		{"reconcile", "check that every budget's counters match its ledger and reservations"},
		{"dlq publish", "publish a test dead letter to the configured NATS (NATS_URL, or the embedded server's port)"},
		{"healthcheck", "exit 0 when GET /health/live on this host's PORT answers 200 (container HEALTHCHECK)"},
		{"smoke", "post-deploy smoke test of a live instance (SMOKE_USERNAME, SMOKE_PASSWORD)"},
		{"version", "print the version, commit and Go version (also --version)"},
		{"help", "this list; help COMMAND (or COMMAND --help) shows one command's usage"},
	}
}

// usage is the answer of help: one line per subcommand.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: control-plane [command] [flags]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-20s %s\n", c.name, c.summary)
	}
	b.WriteString("\nconfiguration: environment variables, see .env.example\n")
	return b.String()
}

const (
	serveUsage = `usage: control-plane [serve]
Runs the HTTP server until SIGINT or SIGTERM. Configuration comes from the
environment (see .env.example); with nothing set it runs in embedded mode.
`
	healthcheckUsage = `usage: control-plane healthcheck
Exits 0 when GET /health/live on 127.0.0.1:$PORT answers 200 within 3 s, 1
otherwise; the container image's HEALTHCHECK (it has no curl).
`
	versionUsage = `usage: control-plane version   (or --version)
Prints the version, the commit and the Go version of this binary.
`
)

// isHelp reports whether arg asks for help, the way the flag package reads it.
func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// parseFlags parses a subcommand's flags; no positional argument may follow.
// -h or --help prints usage and the flags to stdout and reports done, so the
// command exits 0; a bad flag or argument is an error that carries the usage
// (stderr, exit 1).
func parseFlags(fs *flag.FlagSet, usage string, args []string, stdout io.Writer) (done bool, err error) {
	fs.SetOutput(io.Discard)
	err = fs.Parse(args)
	full := usage
	var flags strings.Builder
	fs.SetOutput(&flags)
	fs.PrintDefaults()
	if flags.Len() > 0 {
		full += "flags:\n" + flags.String()
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		_, _ = io.WriteString(stdout, full)
		return true, nil
	case err != nil:
		return false, fmt.Errorf("%w\n%s", err, full)
	case fs.NArg() > 0:
		return false, fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), full)
	}
	return false, nil
}
