package drills

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// Binaries of the stores that drills stop and start themselves.
const (
	natsServerBinary  = "/usr/sbin/nats-server"
	redisServerBinary = "/usr/bin/redis-server"
)

// daemon is a store server (nats-server, redis-server) that a drill starts
// on a free port of its own, stops and starts again on the same port. Only
// this process is ever signalled; the machine's shared servers are not
// touched.
type daemon struct {
	t       *testing.T
	name    string
	binary  string
	args    []string
	port    int
	logFile string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// newNATSServer runs nats-server with JetStream on a free loopback port and
// a store directory that survives its restarts.
func newNATSServer(t *testing.T) *daemon {
	t.Helper()
	port := testenv.FreePort(t)
	dir := t.TempDir()
	d := &daemon{t: t, name: "nats-server", binary: natsServerBinary, port: port,
		logFile: filepath.Join(dir, "nats-server.log"),
		args:    []string{"-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "-sd", filepath.Join(dir, "store")}}
	d.start()
	return d
}

// newRedisServer runs redis-server without persistence on a free loopback
// port: a restart comes back empty, like a Redis that lost its cache.
func newRedisServer(t *testing.T) *daemon {
	t.Helper()
	port := testenv.FreePort(t)
	dir := t.TempDir()
	d := &daemon{t: t, name: "redis-server", binary: redisServerBinary, port: port,
		logFile: filepath.Join(dir, "redis-server.log"),
		args: []string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", dir}}
	d.start()
	return d
}

// addr is 127.0.0.1:port.
func (d *daemon) addr() string { return fmt.Sprintf("127.0.0.1:%d", d.port) }

// start launches the server and waits until its port accepts connections.
func (d *daemon) start() {
	d.t.Helper()
	if _, err := os.Stat(d.binary); err != nil {
		d.t.Fatalf("%s is needed by this drill: %v", d.binary, err)
	}
	log, err := os.OpenFile(d.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		d.t.Fatal(err)
	}
	cmd := exec.Command(d.binary, d.args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		d.t.Fatalf("start %s: %v", d.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = log.Close()
		close(done)
	}()
	d.mu.Lock()
	first := d.cmd == nil
	d.cmd, d.done = cmd, done
	d.mu.Unlock()
	if first {
		d.t.Cleanup(func() {
			d.stop(syscall.SIGTERM)
			if d.t.Failed() {
				b, _ := os.ReadFile(d.logFile)
				d.t.Logf("last lines of %s:\n%s", d.logFile, tail(string(b), 30))
			}
		})
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", d.addr(), time.Second)
		if err == nil {
			_ = conn.Close()
			return
		}
		select {
		case <-done:
			d.t.Fatalf("%s exited at start; log:\n%s", d.name, d.logTail())
		default:
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("%s does not accept connections on %s: %v", d.name, d.addr(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends sig to this server's own process and waits until it exited
// (SIGKILL after ten seconds).
func (d *daemon) stop(sig syscall.Signal) {
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func (d *daemon) logTail() string {
	b, _ := os.ReadFile(d.logFile)
	return tail(string(b), 30)
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
