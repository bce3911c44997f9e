package testenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// builtBinary caches the one build of the server per test binary: several
// tests start processes, and linking the server takes seconds.
var builtBinary struct {
	once sync.Once
	path string
	err  error
}

// BuildBinary builds the server (the module's main package) once per test
// binary and returns its path. The file lives in a directory under the OS
// temp dir named after the module root and is replaced, not accumulated, by
// later runs; a new file is renamed into place, so test binaries of several
// packages building at once never see a half-written file.
func BuildBinary(t testing.TB) string {
	t.Helper()
	builtBinary.once.Do(func() { builtBinary.path, builtBinary.err = build() })
	if builtBinary.err != nil {
		t.Fatalf("build the server: %v", builtBinary.err)
	}
	return builtBinary.path
}

func build() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), "control-plane-testbin-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	name := "control-plane"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	tmp, err := os.CreateTemp(dir, name+".*.tmp")
	if err != nil {
		return "", err
	}
	_ = tmp.Close()
	defer os.Remove(tmp.Name()) // gone after the rename; cleans up a failed build
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp.Name(), ".") // #nosec G204 -- test harness: builds this module into a temp file
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	final := filepath.Join(dir, name)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", err
	}
	return final, nil
}

// moduleRoot is the directory of go.mod above this package's source.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// Process is a server started as a separate OS process.
type Process struct {
	// BaseURL is http://127.0.0.1:PORT.
	BaseURL string
	cmd     *exec.Cmd
	output  *SyncBuffer
	logFile *os.File
	done    chan struct{}
	stop    sync.Once
	exit    int
}

// ProcessOptions say how Launch starts a server process.
type ProcessOptions struct {
	// Env are the process's variables, with the defaults of StartProcess.
	Env map[string]string
	// LogFile, when set, receives the process's stdout and stderr instead of
	// memory. It is appended to, so a replica restarted with the same file
	// keeps one log, and a failing test logs only its last lines.
	LogFile string
	// NoWait returns as soon as the process runs; call WaitReady. Tests that
	// start several replicas at once (migrations racing) need it.
	NoWait bool
}

// logTailLines is how much of a LogFile a failing test prints.
const logTailLines = 60

// StartProcess runs binary with exactly env (plus PATH, HOME and TMPDIR from
// the test's environment; nothing else is inherited, so no TEST_* or
// DATABASE_URL leaks in). HOST defaults to 127.0.0.1, PORT to a free port,
// DATA_DIR to a fresh temp dir. It waits until GET /health/ready answers 200
// and returns the base URL and a kill function (also run at cleanup). The
// process's output is logged when the test fails.
func StartProcess(t testing.TB, binary string, env map[string]string) (baseURL string, kill func()) {
	t.Helper()
	p := Launch(t, binary, ProcessOptions{Env: env})
	return p.BaseURL, p.Kill
}

// Launch is StartProcess with options, returning the process itself so that
// failure drills can signal it (SIGKILL, SIGTERM), restart it on the same
// PORT, and read its PID and log.
func Launch(t testing.TB, binary string, o ProcessOptions) *Process {
	t.Helper()
	vars := map[string]string{"HOST": "127.0.0.1", "DATA_DIR": t.TempDir()}
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			vars[k] = v
		}
	}
	for k, v := range o.Env {
		vars[k] = v
	}
	if vars["PORT"] == "" {
		vars["PORT"] = fmt.Sprint(FreePort(t))
	}
	p := &Process{
		BaseURL: "http://" + net.JoinHostPort(vars["HOST"], vars["PORT"]),
		output:  &SyncBuffer{},
		done:    make(chan struct{}),
		exit:    -1,
	}
	p.cmd = exec.Command(binary) // #nosec G204 -- test harness: runs the binary it just built
	p.cmd.Env = envList(vars)
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	if o.LogFile != "" {
		f, err := os.OpenFile(o.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatalf("open log file: %v", err)
		}
		p.logFile = f
		p.cmd.Stdout, p.cmd.Stderr = f, f
	}
	if err := p.cmd.Start(); err != nil {
		p.closeLog()
		t.Fatalf("start %s: %v", binary, err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.exit = p.cmd.ProcessState.ExitCode()
		p.closeLog()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			p.logOutput(t)
		}
	})
	if o.NoWait {
		return p
	}
	if err := p.WaitReady(60 * time.Second); err != nil {
		p.Kill()
		out := p.Output()
		if p.logFile != nil {
			out = p.Tail(logTailLines)
		}
		t.Fatalf("%s: %v\noutput:\n%s", p.BaseURL, err, out)
	}
	return p
}

func (p *Process) closeLog() {
	if p.logFile != nil {
		_ = p.logFile.Close()
	}
}

func (p *Process) logOutput(t testing.TB) {
	if p.logFile != nil {
		t.Logf("last lines of %s (%s), log %s:\n%s", p.cmd.Path, p.BaseURL, p.logFile.Name(), p.Tail(logTailLines))
		return
	}
	t.Logf("output of %s (%s):\n%s", p.cmd.Path, p.BaseURL, p.output.String())
}

// PID is the operating system's id of the process.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Signal sends sig (syscall.SIGTERM, syscall.SIGKILL, ...) without waiting.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitCode is the exit status once Done is closed; -1 while it runs or when
// a signal ended it.
func (p *Process) ExitCode() int {
	select {
	case <-p.done:
		return p.exit
	default:
		return -1
	}
}

// Crash ends the process with SIGKILL, as a machine or OOM kill would, and
// returns once it has exited.
func (p *Process) Crash() {
	p.stop.Do(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
}

// Output is everything the process wrote so far (its LogFile when it has one).
func (p *Process) Output() string {
	if p.logFile != nil {
		b, err := os.ReadFile(p.logFile.Name())
		if err != nil {
			return fmt.Sprintf("(reading %s: %v)", p.logFile.Name(), err)
		}
		return string(b)
	}
	return p.output.String()
}

// Tail is the last n lines of Output.
func (p *Process) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.Output(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Kill stops the process: SIGTERM, then SIGKILL after five seconds. It
// returns once the process has exited; calling it again does nothing.
func (p *Process) Kill() {
	p.stop.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// WaitReady polls GET /health/ready until it answers 200, the process exits,
// or timeout passes.
func (p *Process) WaitReady(timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("the process exited before it was ready")
		default:
		}
		resp, err := client.Get(p.BaseURL + "/health/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s (last error %v)", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// FreePort returns a TCP port that was free a moment ago on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func envList(vars map[string]string) []string {
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// SyncBuffer collects a process's output from its two pipes while a test
// reads it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
