package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// TestHelpListsEveryCommand checks that help names each subcommand on a line
// of its own and that each answers --help with its usage, on stdout, without
// error; `help COMMAND` is the same.
func TestHelpListsEveryCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"help"}, func(string) string { return "" }, nil, &out, &errOut); err != nil {
		t.Fatalf("help: %v", err)
	}
	list := out.String()
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(list, "\n  "+c.name+" ") {
				t.Errorf("help does not list %q on a line of its own:\n%s", c.name, list)
			}
			for _, args := range [][]string{
				append(strings.Fields(c.name), "--help"),
				append(strings.Fields(c.name), "-h"),
				append([]string{"help"}, strings.Fields(c.name)...),
			} {
				var out, errOut bytes.Buffer
				err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
				if err != nil || !strings.HasPrefix(out.String(), "usage:") || errOut.Len() > 0 {
					t.Errorf("%q: err %v, stdout %q, stderr %q; want its usage on stdout and no error", args, err, out.String(), errOut.String())
				}
				if name := strings.Fields(c.name)[0]; name != "help" && name != "serve" && !strings.Contains(out.String(), "control-plane "+name) {
					t.Errorf("%q: usage %q does not show control-plane %s", args, out.String(), name)
				}
			}
		})
	}
}

func TestVersion(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "v1.2.3", "abc1234" // as -ldflags "-X main.version=… -X main.commit=…" set them
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, func(string) string { return "" }, nil, &out, &out); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		want := "control-plane v1.2.3 (commit abc1234, " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
		if out.String() != want {
			t.Errorf("%v printed %q, want %q", args, out.String(), want)
		}
	}
}

// TestExitCodes runs the built binary: help and version exit 0 with output
// on stdout only; mistakes exit 1 with "error:" and the usage on stderr.
func TestExitCodes(t *testing.T) {
	bin := testenv.BuildBinary(t)
	tests := []struct {
		args       []string
		code       int
		stdout     string // a part of stdout
		stderr     string // a part of stderr; "" wants it empty
		stdoutNone bool
	}{
		{[]string{"help"}, 0, "dlq publish", "", false},
		{[]string{"--help"}, 0, "users set-password", "", false},
		{[]string{"version"}, 0, "control-plane ", "", false},
		{[]string{"--version"}, 0, "control-plane ", "", false},
		{[]string{"users", "create", "--help"}, 0, "--username NAME --role", "", false},
		{[]string{"smoke", "--help"}, 0, "-base-url", "", false},
		{[]string{"dlq", "publish", "-h"}, 0, "-subject", "", false},
		{[]string{"migrate", "status", "--help"}, 0, "migrate status", "", false},
		{[]string{"keys", "rotate", "--help"}, 0, "keys rotate", "", false},
		{[]string{"healthcheck", "--help"}, 0, "/health/live", "", false},
		{[]string{"serve", "--help"}, 0, "usage: control-plane [serve]", "", false},
		{[]string{"nope"}, 1, "", `error: unknown command "nope"`, true},
		{[]string{"users", "create", "--bogus"}, 1, "", "flag provided but not defined: -bogus", true},
		{[]string{"users"}, 1, "", "missing users command", true},
		{[]string{"migrate", "sideways"}, 1, "", `unexpected argument "sideways"`, true},
		{[]string{"dlq", "publish"}, 1, "", "--subject is required", true},
		{[]string{"version", "extra"}, 1, "", `unexpected argument "extra"`, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, tt.args...) // #nosec G204 -- the binary this test built
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DATA_DIR=" + t.TempDir()}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) || (tt.stdoutNone && stdout.Len() > 0) {
				t.Errorf("stdout %q, want it to contain %q", stdout.String(), tt.stdout)
			}
			if (tt.stderr == "" && stderr.Len() > 0) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q, want %q", stderr.String(), tt.stderr)
			}
			if tt.code != 0 && !strings.Contains(stderr.String(), "usage") {
				t.Errorf("stderr %q: a mistake should show the usage", stderr.String())
			}
		})
	}
}
