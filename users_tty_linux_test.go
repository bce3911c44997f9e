package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// openPTY returns both ends of a new pseudo-terminal: what a user types is
// written to master, the program reads it from tty, and the terminal's echo
// comes back on master.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	fd := int(master.Fd()) // #nosec G115 -- a file descriptor fits in an int
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the pty: %v", err)
	}
	t.Cleanup(func() { _ = tty.Close(); _ = master.Close() })
	return master, tty
}

// typePassword waits for the n-th prompt and for the program to turn the
// terminal's echo off, as a user waits for the prompt, then types a line.
// Echo is back on between two prompts (ReadPassword restores it before the
// next prompt is printed), so echo off after the n-th prompt is the n-th read.
func typePassword(t *testing.T, master, tty *os.File, prompts *testenv.SyncBuffer, n int, line string) {
	t.Helper()
	testenv.Wait(t, 10*time.Second, fmt.Sprintf("prompt %d", n), func() bool {
		return strings.Count(prompts.String(), "password") >= n
	})
	testenv.Wait(t, 10*time.Second, "echo off", func() bool {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS) // #nosec G115 -- a file descriptor fits in an int
		return err == nil && tio.Lflag&unix.ECHO == 0
	})
	if _, err := io.WriteString(master, line+"\n"); err != nil {
		t.Fatal(err)
	}
}

// TestUsersCreateOnATerminal types passwords on a real pseudo-terminal and
// checks that each is asked twice, never echoed, and works for a login.
func TestUsersCreateOnATerminal(t *testing.T) {
	env, _ := cliEnv(t)
	create := []string{"users", "create", "--username", "carol", "--role", "observer"}
	tests := []struct {
		name                 string
		args                 []string
		first, second        string
		wantErr, wantCreated string
	}{
		{"the two differ", create, "typed-secret-1", "typed-secret-2", "the two passwords differ", ""},
		{"created", create, "typed-secret-1", "typed-secret-1", "", "created user carol"},
		{"set-password", []string{"users", "set-password", "--username", "carol"}, "typed-secret-3", "typed-secret-3", "", "password of carol changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			master, tty := openPTY(t)
			var echoed bytes.Buffer
			var reading sync.WaitGroup
			reading.Add(1)
			go func() { defer reading.Done(); _, _ = io.Copy(&echoed, master) }()

			var out, prompts testenv.SyncBuffer
			done := make(chan error, 1)
			go func() {
				done <- run(context.Background(), tt.args, func(k string) string { return env[k] }, tty, &out, &prompts)
			}()
			typePassword(t, master, tty, &prompts, 1, tt.first)
			typePassword(t, master, tty, &prompts, 2, tt.second)
			err := <-done
			_ = tty.Close() // ends the copy from master
			reading.Wait()

			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil || !strings.Contains(out.String(), tt.wantCreated) {
				t.Fatalf("out %q, err %v; want %q", out.String(), err, tt.wantCreated)
			}
			if strings.Contains(echoed.String(), "typed-secret") {
				t.Errorf("the terminal echoed the password: %q", echoed.String())
			}
			if got := prompts.String(); got != "password: \npassword again: \n" {
				t.Errorf("prompts %q, want the password asked twice", got)
			}
		})
	}
	srv := testenv.StartConfig(t, cliServerConfig(t, env))
	srv.Login(t, "carol", "typed-secret-3")
}
