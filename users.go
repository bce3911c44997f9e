package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/golden-architecture/control-plane/app"
	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/tenants"
)

const usersUsage = `usage:
  control-plane users create --username NAME --role admin|operator|developer|observer [--tenant ID]
  control-plane users set-password --username NAME
--tenant is the account's tenant, which must exist (DEFAULT_TENANT always
does); the default is DEFAULT_TENANT, except for an admin, which is then a
platform principal (bound to no tenant).
On a terminal the password is asked for twice, without echo. Otherwise it is
the first line of stdin, e.g.
  printf '%s\n' "$PASSWORD" | control-plane users create --username alice --role operator
`

// users manages accounts from the command line; the password is typed or
// piped, so it never appears in the process list or shell history.
func users(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	switch {
	case len(args) == 0:
		return fmt.Errorf("missing users command\n%s", usersUsage)
	case isHelp(args[0]):
		_, _ = io.WriteString(stdout, usersUsage)
		return nil
	case args[0] != "create" && args[0] != "set-password":
		return fmt.Errorf("unknown users command %q\n%s", args[0], usersUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("users "+sub, flag.ContinueOnError)
	username := fs.String("username", "", "account name (stored trimmed and lowercased)")
	role, tenant := new(string), new(string)
	if sub == "create" {
		role = fs.String("role", "", "admin, operator, developer or observer")
		tenant = fs.String("tenant", "", "tenant of the account (default DEFAULT_TENANT; none for an admin)")
	}
	if done, err := parseFlags(fs, usersUsage, args, stdout); done || err != nil {
		return err
	}
	if *username == "" || (sub == "create" && *role == "") {
		return fmt.Errorf("missing --username or --role\n%s", usersUsage)
	}
	password, err := readPassword(stdin, stderr)
	if err != nil {
		return err
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
	// The service of the HTTP user routes, so an account changed here is
	// validated and audited the same way; it signs and checks no token, so
	// it needs neither keys nor the lockout store.
	svc, err := auth.New(auth.NewUsers(db.DB, cfg.BcryptCost, nil), nil, nil, auditor, quietLog(), nil,
		auth.Options{DefaultTenant: cfg.DefaultTenant})
	if err != nil {
		return err
	}
	actor := cliActor(getenv, "users "+sub)
	if sub == "create" {
		// The server does this at start; a first command before any start
		// needs DEFAULT_TENANT to exist too.
		if err := tenants.New(db.DB, auditor).Backfill(ctx, cfg.DefaultTenant); err != nil {
			return err
		}
		if *tenant == "" && auth.Role(*role) != auth.RoleAdmin {
			*tenant = cfg.DefaultTenant
		}
		u, err := svc.CreateUser(ctx, actor, auth.NewUser{Username: *username, Password: password, Role: auth.Role(*role), TenantID: *tenant})
		if err != nil {
			return cliError(err)
		}
		where := "tenant " + u.TenantID
		if u.TenantID == "" {
			where = "platform, no tenant"
		}
		fmt.Fprintf(stdout, "created user %s (role %s, %s, id %s)\n", u.Username, u.Role, where, u.ID)
		return nil
	}
	u, err := svc.Users().ByUsername(ctx, *username)
	if err != nil {
		return cliError(err)
	}
	if u, err = svc.ResetPassword(ctx, actor, u.ID, password); err != nil {
		return cliError(err)
	}
	fmt.Fprintf(stdout, "password of %s changed; tokens issued before now no longer verify\n", u.Username)
	return nil
}

// cliActor is who the audit trail records for a change made from the
// command line: no account logged in, so the principal is "cli", with the
// OS user ($USER) when known, as "cli:alice". That name is for the record,
// not a credential: whoever runs the command holds the database already.
// The request id names the command, as "cli:users create".
func cliActor(getenv func(string) string, command string) audit.Actor {
	who := "cli"
	if u := strings.TrimSpace(getenv("USER")); u != "" {
		who += ":" + u
	}
	return audit.Actor{PrincipalID: who, Username: who, RequestID: "cli:" + command}
}

// readPassword asks for the password without echo when stdin is a terminal,
// and otherwise reads the first line of stdin without its line ending.
func readPassword(stdin io.Reader, prompt io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) { // #nosec G115 -- a file descriptor fits in an int
		return askPassword(int(f.Fd()), prompt) // #nosec G115 -- as above
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on stdin: pipe it in, e.g. printf '%s\\n' \"$PASSWORD\" | control-plane users ...")
	}
	return line, nil
}

// askPassword reads a password from the terminal fd without echo, twice, so
// a typo cannot become the password.
func askPassword(fd int, prompt io.Writer) (string, error) {
	read := func(label string) (string, error) {
		_, _ = fmt.Fprint(prompt, label)
		b, err := term.ReadPassword(fd)
		_, _ = fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password from the terminal: %w", err)
		}
		return string(b), nil
	}
	password, err := read("password: ")
	if err != nil {
		return "", err
	}
	if password == "" {
		return "", errors.New("empty password")
	}
	again, err := read("password again: ")
	if err != nil {
		return "", err
	}
	if again != password {
		return "", errors.New("the two passwords differ")
	}
	return password, nil
}

// cliError spells out a service error for a terminal: the message and, for a
// validation error, each failed field.
func cliError(err error) error {
	var e *errs.Error
	if !errors.As(err, &e) {
		return err
	}
	msg := e.Message
	if fields, ok := e.Details["errors"].([]errs.FieldError); ok {
		for _, f := range fields {
			msg += fmt.Sprintf("\n  %s %s", f.Field, f.Message)
		}
	}
	return errors.New(msg)
}
