package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/golden-architecture/control-plane/app"
	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/services/auth"
)

const keysUsage = `usage:
  control-plane keys rotate   add a new current RS256 signing key to JWT_KEYS_DIR (else DATA_DIR/keys)
  control-plane keys list     list the keys that sign or still verify tokens
`

// keys manages the RS256 signing keys. Running servers pick a rotation up
// within 30 s (or at once when they see a token with the new kid); tokens
// signed by the previous key keep verifying until they expire.
func keys(args []string, getenv func(string) string, stdout io.Writer) error {
	switch {
	case len(args) == 0:
		return fmt.Errorf("missing keys command\n%s", keysUsage)
	case isHelp(args[0]):
		_, _ = io.WriteString(stdout, keysUsage)
		return nil
	case args[0] != "rotate" && args[0] != "list":
		return fmt.Errorf("unknown keys command %q\n%s", args[0], keysUsage)
	}
	if done, err := parseFlags(flag.NewFlagSet("keys "+args[0], flag.ContinueOnError), keysUsage, args[1:], stdout); done || err != nil {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	if cfg.JWTSecret != "" {
		return errors.New("JWT_SECRET is set, so tokens are signed with HS256 and no key file is used; unset it to use RS256 keys")
	}
	dir := app.KeysDir(cfg)
	if args[0] == "rotate" {
		kid, err := auth.GenerateKey(dir, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new current key %s in %s\n", kid, dir)
	}
	set, err := auth.OpenKeySet(auth.KeySetOptions{Dir: dir, Retention: app.KeyRetention(cfg)}, false)
	if err != nil {
		return err
	}
	for _, k := range set.Keys() {
		if k.Retired.IsZero() {
			fmt.Fprintf(stdout, "%s  current  created %s\n", k.ID, k.Created.Format(time.RFC3339))
			continue
		}
		fmt.Fprintf(stdout, "%s  retired %s  verifies until %s\n", k.ID, k.Retired.Format(time.RFC3339), k.Until.Format(time.RFC3339))
	}
	return nil
}
