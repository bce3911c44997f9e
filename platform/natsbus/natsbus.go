// Package natsbus connects to NATS: an external server when NATS_URL is set,
// otherwise a NATS server with JetStream embedded in this process, reached
// in-process and opening no TCP port unless asked to. Callers get the same
// *nats.Conn and jetstream.JetStream in both modes.
package natsbus

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options says which NATS to use.
type Options struct {
	URL          string // nats://…; empty starts the embedded server
	DataDir      string // the embedded server's JetStream store lives under it
	EmbeddedPort int    // 0: no TCP listener for the embedded server
	Name         string // client connection name
}

// Bus is a connection with its JetStream context and, in embedded mode, the
// server it owns.
type Bus struct {
	Conn     *nats.Conn
	JS       jetstream.JetStream
	Location string
	server   *server.Server
}

// Open starts or connects and returns a ready Bus.
func Open(ctx context.Context, o Options) (*Bus, error) {
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
	}
	b := &Bus{}
	if o.URL == "" {
		srv, err := StartEmbedded(filepath.Join(o.DataDir, "nats"), o.EmbeddedPort)
		if err != nil {
			return nil, err
		}
		b.server = srv
		b.Location = "embedded (in-process)"
		if o.EmbeddedPort > 0 {
			b.Location = srv.ClientURL()
		}
		opts = append(opts, nats.InProcessServer(srv))
	} else {
		b.Location = o.URL
	}
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		b.shutdownServer()
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		b.shutdownServer()
		return nil, fmt.Errorf("JetStream: %w", err)
	}
	b.Conn, b.JS = nc, js
	if err := b.Ping(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// StartEmbedded starts a JetStream-enabled NATS server storing under dir. With
// port 0 it listens on no TCP port (in-process connections only); with
// port -1 it picks a free loopback port (used by tests).
func StartEmbedded(dir string, port int) (*server.Server, error) {
	opts := &server.Options{
		ServerName: "control-plane-embedded",
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		NoLog:      true,
		Host:       "127.0.0.1",
		Port:       port,
		DontListen: port == 0,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("embedded NATS server did not become ready within 10s")
	}
	return srv, nil
}

// Ping checks the connection with a round trip to the server.
func (b *Bus) Ping(ctx context.Context) error {
	if !b.Conn.IsConnected() {
		return fmt.Errorf("NATS not connected (%s)", b.Conn.Status())
	}
	timeout := 2 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	if err := b.Conn.FlushTimeout(timeout); err != nil {
		return fmt.Errorf("NATS flush: %w", err)
	}
	return nil
}

// Close drains the connection and stops the embedded server.
func (b *Bus) Close() {
	if b.Conn != nil {
		_ = b.Conn.Drain()
		deadline := time.Now().Add(5 * time.Second)
		for !b.Conn.IsClosed() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		b.Conn.Close()
	}
	b.shutdownServer()
}

func (b *Bus) shutdownServer() {
	if b.server != nil {
		b.server.Shutdown()
		b.server.WaitForShutdown()
	}
}
