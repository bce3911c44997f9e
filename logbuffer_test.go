package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// TestServeLogFlushedOnShutdown: the log is buffered, and every request's
// line is in it once the server has stopped, before the "stopped" line,
// which is the last.
func TestServeLogFlushedOnShutdown(t *testing.T) {
	env := testenv.New(t, "LOG_LEVEL", "info", "LOG_FORMAT", "json",
		"SHUTDOWN_TIMEOUT", "3s", "SHUTDOWN_DRAIN_DELAY", "20ms")
	const n = 300
	lines := serveLogged(t, env.Vars, func(base string) {
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < n; i += 8 {
					req, err := http.NewRequest(http.MethodGet, base+"/api/v1/auth/me", nil)
					if err != nil {
						t.Error(err)
						return
					}
					req.Header.Set("X-Request-ID", fmt.Sprintf("flush-%d", i))
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					_ = resp.Body.Close()
				}
			})
		}
		wg.Wait()
	})
	seen := map[string]int{}
	for _, l := range linesWith(lines, "request") {
		if id, _ := l["request_id"].(string); strings.HasPrefix(id, "flush-") {
			seen[id]++
		}
	}
	for i := range n {
		if id := fmt.Sprintf("flush-%d", i); seen[id] != 1 {
			t.Errorf("request %s logged %d times, want once", id, seen[id])
		}
	}
	if len(lines) == 0 || lines[len(lines)-1].msg() != "stopped" {
		t.Errorf("the last line is not \"stopped\": %v", lines[len(lines)-1])
	}
}

// TestLogBuffer: a line reaches the writer without a Close (the periodic
// flush), Close writes out the rest, and a line written after Close is
// written at once.
func TestLogBuffer(t *testing.T) {
	out := &testenv.SyncBuffer{}
	b := newLogBuffer(out)
	if _, err := b.Write([]byte("one\n")); err != nil {
		t.Fatal(err)
	}
	testenv.Wait(t, 30*time.Second, "the periodic flush", func() bool { return out.String() == "one\n" })

	if _, err := b.Write([]byte("two\n")); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "one\ntwo\n" {
		t.Errorf("after Close the writer holds %q, want %q", got, "one\ntwo\n")
	}
	if _, err := b.Write([]byte("three\n")); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "one\ntwo\nthree\n" {
		t.Errorf("a write after Close: the writer holds %q, want %q", got, "one\ntwo\nthree\n")
	}
}

// TestLogBufferBounded: what does not fit in the buffer is written by the
// Write that fills it, not held.
func TestLogBufferBounded(t *testing.T) {
	out := &testenv.SyncBuffer{}
	b := newLogBuffer(out)
	t.Cleanup(func() { _ = b.Close() })
	line := strings.Repeat("x", 1023) + "\n"
	for range 2 * logBufferSize / len(line) {
		if _, err := b.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(out.String()); got < logBufferSize {
		t.Errorf("%d bytes written out after writing twice the buffer's %d, want at least one buffer's", got, logBufferSize)
	}
}
