package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/golden-architecture/control-plane/app"
	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/services/apikeys"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/tenants"
)

const apikeysUsage = `usage:
  control-plane apikeys create --name NAME --role admin|operator|developer|observer [--tenant ID]
                               [--project ID] [--expires-in DURATION] [--rate-limit 600-M] [--tokens-per-minute N]
                               [--as USERNAME]
  control-plane apikeys list [--tenant ID]
  control-plane apikeys revoke --id KEY_ID [--as USERNAME]
API keys of automated clients (not the JWT signing keys of "keys"). create
prints the secret alone on stdout, once, and what it created on stderr, e.g.
  KEY=$(control-plane apikeys create --name ci --role developer)
  curl -H "Authorization: Bearer $KEY" http://127.0.0.1:8000/api/v1/auth/me
--as is the account the command acts as, which needs key.manage, audited and
recorded as the key's creator: the key's role must be at most its role, and
the key stops working while that account is disabled (default
ADMIN_USERNAME, else admin). A tenant-bound account reaches its tenant only.
--tenant defaults to the --as account's tenant, else DEFAULT_TENANT, except
for an admin key of a platform account, which is then a platform key.
Running servers refuse a revoked key within one second.
`

// apikeysCmd manages API keys from the command line, for bootstrapping the
// first automated client before anyone calls POST /api/v1/keys.
func apikeysCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	switch {
	case len(args) == 0:
		return fmt.Errorf("missing apikeys command\n%s", apikeysUsage)
	case isHelp(args[0]):
		_, _ = io.WriteString(stdout, apikeysUsage)
		return nil
	case args[0] != "create" && args[0] != "list" && args[0] != "revoke":
		return fmt.Errorf("unknown apikeys command %q\n%s", args[0], apikeysUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("apikeys "+sub, flag.ContinueOnError)
	var in apikeys.CreateInput
	var role, as, id string
	var expiresIn time.Duration
	tenant := fs.String("tenant", "", "tenant of the key")
	if sub != "list" {
		fs.StringVar(&as, "as", "", "account the command acts as (default ADMIN_USERNAME, else admin)")
	}
	switch sub {
	case "create":
		fs.StringVar(&in.Name, "name", "", "what the key is for")
		fs.StringVar(&role, "role", "", "admin, operator, developer or observer (at most the --as account's)")
		fs.StringVar(&in.ProjectID, "project", "", "project the key is bound to (none by default)")
		fs.DurationVar(&expiresIn, "expires-in", 0, "lifetime, e.g. 720h (never expires by default)")
		fs.StringVar(&in.RateLimit, "rate-limit", "", "own rate limit like 600-M, replacing the role's")
		fs.Func("tokens-per-minute", "most LLM tokens the key's gateway calls use per minute (no limit by default)", func(v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return errors.New("must be a whole number of tokens")
			}
			in.TokensPerMinute = &n
			return nil
		})
	case "revoke":
		fs.StringVar(&id, "id", "", "id of the key to revoke")
	}
	if done, err := parseFlags(fs, apikeysUsage, args, stdout); done || err != nil {
		return err
	}
	switch {
	case sub == "create" && (in.Name == "" || role == ""):
		return fmt.Errorf("missing --name or --role\n%s", apikeysUsage)
	case sub == "revoke" && id == "":
		return fmt.Errorf("missing --id\n%s", apikeysUsage)
	case sub == "revoke" && *tenant != "":
		return fmt.Errorf("revoke takes no --tenant\n%s", apikeysUsage)
	case expiresIn < 0:
		return errors.New("--expires-in must be positive")
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	db, _, err := app.OpenDatabase(ctx, cfg, app.StartMode(cfg), quietLog())
	if err != nil {
		return err
	}
	defer db.Close()
	auditor := audit.New(db.DB)
	svc := apikeys.New(db.DB, auditor, apikeys.Options{})
	if sub == "list" {
		return listAPIKeys(ctx, svc, *tenant, stdout)
	}
	if as == "" {
		as = cfg.AdminUsername
	}
	if as == "" {
		as = "admin"
	}
	user, err := auth.NewUsers(db.DB, cfg.BcryptCost, nil).ByUsername(ctx, as)
	if err != nil {
		return cliError(err)
	}
	switch {
	case user.Disabled:
		return fmt.Errorf("account %s is disabled: its keys would not work", user.Username)
	case !user.Role.Has(auth.PermKeyManage):
		return fmt.Errorf("account %s (role %s) lacks %s", user.Username, user.Role, auth.PermKeyManage)
	}
	actor := audit.Actor{
		PrincipalID: auth.UserPrincipal(user.ID), UserID: user.ID, Username: user.Username, Role: string(user.Role),
		TenantID: user.TenantID, RequestID: "cli:apikeys " + sub,
	}
	if sub == "revoke" {
		k, err := svc.Revoke(ctx, actor, user.TenantID, id)
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "revoked API key %s %q (%s…%s); servers refuse it within one second\n", k.ID, k.Name, k.Prefix, k.LastFour)
		return nil
	}
	// The server does this at start; a first command before any start
	// needs DEFAULT_TENANT to exist too.
	if err := tenants.New(db.DB, auditor).Backfill(ctx, cfg.DefaultTenant); err != nil {
		return err
	}
	in.Role, in.TenantID = auth.Role(role), *tenant
	switch {
	case user.TenantID != "" && in.TenantID != "" && in.TenantID != user.TenantID:
		return fmt.Errorf("account %s belongs to tenant %s and cannot create keys in tenant %s", user.Username, user.TenantID, in.TenantID)
	case user.TenantID != "":
		in.TenantID = user.TenantID
	case in.TenantID == "" && in.Role != auth.RoleAdmin:
		in.TenantID = cfg.DefaultTenant
	}
	if expiresIn > 0 {
		e := time.Now().Add(expiresIn)
		in.ExpiresAt = &e
	}
	created, err := svc.Create(ctx, actor, in)
	if err != nil {
		return cliError(err)
	}
	k := created.Key
	where := "tenant " + k.TenantID
	if k.TenantID == "" {
		where = "platform, no tenant"
	}
	fmt.Fprintf(stderr, "created API key %s %q (role %s, %s, created by %s); the secret below is shown only now:\n",
		k.ID, k.Name, k.Role, where, user.Username)
	fmt.Fprintln(stdout, created.Secret)
	return nil
}

// listAPIKeys prints every key (of one tenant with --tenant), newest first.
func listAPIKeys(ctx context.Context, svc *apikeys.Service, tenant string, stdout io.Writer) error {
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tROLE\tTENANT\tPROJECT\tKEY\tSTATUS\tLAST USED")
	f := apikeys.ListFilter{TenantID: tenant, Limit: cursor.MaxLimit}
	for {
		p, err := svc.List(ctx, f)
		if err != nil {
			return cliError(err)
		}
		now := time.Now()
		for _, k := range p.Items {
			lastUsed := "never"
			if k.LastUsedAt != nil {
				lastUsed = k.LastUsedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s…%s\t%s\t%s\n", k.ID, k.Name, k.Role, orDash(k.TenantID), orDash(k.ProjectID),
				k.Prefix, k.LastFour, k.Status(now), lastUsed)
		}
		if p.NextCursor == "" {
			return w.Flush()
		}
		f.Cursor = p.NextCursor
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
