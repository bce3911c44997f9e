// Command loadtest drives a running control plane with bounded scenarios and
// prints one JSON line per scenario: throughput, latency percentiles, status
// counts and errors. Point it only at a server you run, on loopback:
//
//	go run ./cmd/loadtest -base-url http://127.0.0.1:8000 -scenario me -c 64 -n 20000 -d 30s
//
// Every scenario stops at whichever comes first: -n requests or -d duration.
// With -rps the workers are paced to that rate (to read latency at a given
// load rather than at saturation).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	var o Options
	scenarios := fs.String("scenario", "health", "comma-separated scenarios: "+strings.Join(ScenarioNames(), ", "))
	fs.StringVar(&o.BaseURL, "base-url", "http://127.0.0.1:8000", "server to load (use loopback); several, comma-separated, spread the workers over them (replicas)")
	fs.IntVar(&o.Concurrency, "c", 32, "concurrent workers")
	fs.IntVar(&o.Requests, "n", 10000, "maximum requests per scenario")
	fs.DurationVar(&o.Duration, "d", 30*time.Second, "maximum duration per scenario")
	fs.StringVar(&o.Username, "user", "admin", "login user")
	fs.StringVar(&o.Password, "password", "admin123", "login password")
	fs.BoolVar(&o.HotBudget, "hot", false, "budget-cycle: all workers share one tenant/project (else one each)")
	fs.IntVar(&o.Budgets, "budgets", 0, "budget-cycle: spread over this many budgets (0: one per worker)")
	fs.StringVar(&o.Tenant, "tenant", "", "budget-cycle: use the budgets TENANT/p0 … p<budgets-1> (as growth-prefill.sql makes them) instead of fresh ones")
	fs.StringVar(&o.Path, "path", "/api/v1/audit?limit=50", "get: the path to GET with the login's token")
	fs.Int64Var(&o.Limit, "limit", 100000, "overspend: the budget limit T")
	fs.Int64Var(&o.Tokens, "tokens", 1000, "overspend: tokens E per request; budget-cycle: tokens per reservation")
	fs.StringVar(&o.Label, "label", "", "free text copied into each result line (e.g. the server mode)")
	fs.Float64Var(&o.RPS, "rps", 0, "pace each scenario to this many units per second (0: unpaced; a budget-cycle unit is request+commit)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	for _, name := range strings.Split(*scenarios, ",") {
		sc, ok := LookupScenario(strings.TrimSpace(name))
		if !ok {
			return fmt.Errorf("unknown scenario %q (have %s)", name, strings.Join(ScenarioNames(), ", "))
		}
		res, err := Run(ctx, sc, o)
		if err != nil {
			return fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	return nil
}
