package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/golden-architecture/control-plane/app"
	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/services/auth"
	"github.com/golden-architecture/control-plane/services/errs"
)

const usersUsage = `usage:
  control-plane users create --username NAME --role admin|operator|developer|observer
  control-plane users set-password --username NAME
The password is read from the first line of stdin, e.g.
  printf '%s\n' "$PASSWORD" | control-plane users create --username alice --role operator
`

// users manages accounts from the command line; the password comes from
// stdin so it never appears in the process list or shell history.
func users(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usersUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("users "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	username := fs.String("username", "", "account name (stored trimmed and lowercased)")
	role := fs.String("role", "", "admin, operator, developer or observer (create only)")
	if sub != "create" && sub != "set-password" {
		return fmt.Errorf("unknown users command %q\n%s", sub, usersUsage)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *username == "" || (sub == "create") != (*role != "") || fs.NArg() > 0 {
		return errors.New(usersUsage)
	}
	password, err := readPassword(stdin)
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
	store := auth.NewUsers(db.DB, cfg.BcryptCost, nil)
	if sub == "create" {
		u, err := store.Create(ctx, *username, password, auth.Role(*role))
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "created user %s (role %s, id %s)\n", u.Username, u.Role, u.ID)
		return nil
	}
	if err := store.SetPassword(ctx, *username, password); err != nil {
		return cliError(err)
	}
	fmt.Fprintf(stdout, "password of %s changed; tokens issued before now no longer verify\n", auth.NormalizeUsername(*username))
	return nil
}

// readPassword reads the first line of stdin, without its line ending.
func readPassword(stdin io.Reader) (string, error) {
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
