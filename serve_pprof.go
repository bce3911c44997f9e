package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// servePprof serves the Go profiler (net/http/pprof) on addr, taken from
// PPROF_ADDR, until ctx ends. It is opt-in, for measuring (make bench): empty
// addr serves nothing, and only a loopback address is accepted because
// profiles expose the program's internals and cost CPU. It never stops the
// service: a refused or busy address is logged and skipped. It returns the
// address it listens on, nil when it serves nothing.
func servePprof(ctx context.Context, addr string, log *slog.Logger) net.Addr {
	if addr == "" {
		return nil
	}
	if err := loopbackAddr(addr); err != nil {
		log.Error("pprof not served", slog.String("PPROF_ADDR", addr), slog.Any("error", err))
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("pprof not served", slog.String("PPROF_ADDR", addr), slog.Any("error", err))
		return nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Warn("serving pprof (PPROF_ADDR); do not enable in production", slog.String("addr", ln.Addr().String()))
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof server stopped", slog.Any("error", err))
		}
	}()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return ln.Addr()
}

// loopbackAddr accepts host:port whose host is a loopback IP or "localhost".
func loopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("not host:port: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errors.New("only a loopback address (127.0.0.1, ::1, localhost) is allowed")
	}
	return nil
}
