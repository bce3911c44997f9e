package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisServerBin is Debian's redis-server.
const RedisServerBin = "/usr/bin/redis-server"

// RedisServer is a redis-server process owned by one test, on a port of its
// own, so the test can stop, freeze and restart it without touching the
// shared Redis. Only its PID is ever signalled.
type RedisServer struct {
	port int
	cmd  *exec.Cmd
}

// NewRedisServer reserves a port; Start runs the server there. The test is
// skipped when redis-server is not installed.
func NewRedisServer(t testing.TB) *RedisServer {
	t.Helper()
	if _, err := os.Stat(RedisServerBin); err != nil {
		t.Skipf("%s is not installed (apt-get install redis-server): skipping this Redis outage test", RedisServerBin)
	}
	s := &RedisServer{port: FreePort(t)}
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's redis:// URL (database 0).
func (s *RedisServer) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

// Start runs redis-server without persistence and waits until it answers.
func (s *RedisServer) Start(t testing.TB) {
	t.Helper()
	s.cmd = exec.Command(RedisServerBin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", // #nosec G204 -- test harness: a fixed binary on a free port
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.port)})
	defer c.Close()
	Wait(t, 10*time.Second, "redis-server to answer", func() bool { return c.Ping(context.Background()).Err() == nil })
}

// Stop kills the server and waits for it; a stopped server may be started
// again on the same port.
func (s *RedisServer) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // a paused server must be able to die
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Pause freezes the server (SIGSTOP): connections stay open, nothing answers.
func (s *RedisServer) Pause(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
}

// Resume thaws a paused server.
func (s *RedisServer) Resume(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
}
