// Command baseline serves the floors the control plane's throughput is
// compared with in docs/PERFORMANCE.md: a bare Gin handler that answers the
// same small JSON as GET /api/v1/auth/me (-mode json: what the framework and
// the HTTP stack cost), and the same handler doing one Redis INCR per request
// (-mode redis: what any Redis-backed rate limiter costs at least). It listens
// on loopback only and stops on SIGINT or SIGTERM.
//
//	go run ./cmd/baseline -mode redis -addr 127.0.0.1:18081 -redis-url redis://127.0.0.1:6379/9
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mode := fs.String("mode", "json", "json (bare handler) or redis (bare handler + one INCR)")
	addr := fs.String("addr", "127.0.0.1:18081", "listen address (loopback only)")
	redisURL := fs.String("redis-url", "redis://127.0.0.1:6379/9", "redis mode: the Redis database to INCR in")
	key := fs.String("key", "baseline:incr", "redis mode: the key to INCR")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := loopbackOnly(*addr); err != nil {
		return err
	}
	var rdb *redis.Client
	switch *mode {
	case "json":
	case "redis":
		opts, err := redis.ParseURL(*redisURL)
		if err != nil {
			return fmt.Errorf("-redis-url: %w", err)
		}
		rdb = redis.NewClient(opts)
		defer rdb.Close()
		if err := rdb.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
	default:
		return fmt.Errorf("-mode %q: want json or redis", *mode)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newEngine(rdb, *key), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 90 * time.Second}
	fmt.Fprintf(stderr, "baseline %s serving on http://%s\n", *mode, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// loopbackOnly refuses any address a machine other than this one could reach:
// the baseline is a measuring device, not a service.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-addr %q: listen on a loopback address such as 127.0.0.1", addr)
	}
	return nil
}
