package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

func TestServePprof(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, addr := range []string{"", "0.0.0.0:0", ":0", "192.0.2.1:6060", "no-port"} {
		t.Run("refuses "+addr, func(t *testing.T) {
			if got := servePprof(t.Context(), addr, log); got != nil {
				t.Errorf("servePprof(%q) listens on %v, want nothing served", addr, got)
			}
		})
	}
	t.Run("serves on loopback until ctx ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		addr := servePprof(ctx, "127.0.0.1:0", log)
		if addr == nil {
			t.Fatal("servePprof(127.0.0.1:0) served nothing")
		}
		url := "http://" + addr.String() + "/debug/pprof/cmdline"
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", url, resp.StatusCode)
		}
		cancel()
		for range 100 { // Close runs on another goroutine; poll until it did
			if _, err = http.Get(url); err != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Errorf("GET %s still answers after ctx ended", url)
	})
}
