package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/golden-architecture/control-plane/config"
	"github.com/golden-architecture/control-plane/services/dlq"
)

const dlqUsage = `usage: control-plane dlq publish --subject SUBJECT [--error TEXT] [--attempts N] [--data PAYLOAD]
Publishes a test dead letter the way a failing consumer would: to
DLQ_SUBJECT_PREFIX.SUBJECT (dlq.orders.created for --subject orders.created)
with the headers error and attempts, through JetStream, so the answer names
the stream that stored it. The NATS is NATS_URL, or else the embedded server
of a control plane started with EMBEDDED_NATS_PORT (give this command the same
value); the embedded server opens no port without it.
`

// dlqCmd holds the DLQ subcommands; publish lets a newcomer try the DLQ without
// the nats CLI.
func dlqCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	switch {
	case len(args) == 0:
		return fmt.Errorf("missing dlq command\n%s", dlqUsage)
	case isHelp(args[0]):
		_, _ = io.WriteString(stdout, dlqUsage)
		return nil
	case args[0] != "publish":
		return fmt.Errorf("unknown dlq command %q\n%s", args[0], dlqUsage)
	}
	fs := flag.NewFlagSet("dlq publish", flag.ContinueOnError)
	subject := fs.String("subject", "", "original subject of the failed message, e.g. orders.created (required)")
	data := fs.String("data", `{"test":true}`, "payload")
	errText := fs.String("error", "", "why processing failed (header error)")
	attempts := fs.Int("attempts", 0, "how often processing was tried (header attempts; 0 leaves it out)")
	timeout := fs.Duration("timeout", 5*time.Second, "bound of the connect and of the publish")
	if done, err := parseFlags(fs, dlqUsage, args[1:], stdout); done || err != nil {
		return err
	}
	if *subject == "" || *attempts < 0 {
		return fmt.Errorf("--subject is required and --attempts must not be negative\n%s", dlqUsage)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	url := cfg.NATSURL
	if url == "" {
		if cfg.EmbeddedNATSPort == 0 {
			return errors.New("no NATS to publish to: set NATS_URL, or start the server with EMBEDDED_NATS_PORT=4223 and run this command with the same EMBEDDED_NATS_PORT")
		}
		url = "nats://127.0.0.1:" + strconv.Itoa(cfg.EmbeddedNATSPort)
	}
	target := *subject
	if !strings.HasPrefix(target, cfg.DLQSubjectPrefix+".") {
		target = cfg.DLQSubjectPrefix + "." + target
	}
	msg := nats.NewMsg(target)
	msg.Data = []byte(*data)
	if *errText != "" {
		msg.Header.Set(dlq.HeaderError, *errText)
	}
	if *attempts > 0 {
		msg.Header.Set(dlq.HeaderAttempts, strconv.Itoa(*attempts))
	}

	nc, err := nats.Connect(url, nats.Name("control-plane dlq publish"), nats.Timeout(*timeout))
	if err != nil {
		return fmt.Errorf("connect to NATS: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("JetStream: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	ack, err := js.PublishMsg(ctx, msg)
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
		return fmt.Errorf("no JetStream stream stores %s on %s: the control plane creates the %s stream on %s.> when it starts; is it running against this NATS with the same DLQ_SUBJECT_PREFIX?",
			target, nc.ConnectedUrlRedacted(), cfg.DLQStream, cfg.DLQSubjectPrefix)
	}
	if err != nil {
		return fmt.Errorf("publish %s: %w", target, err)
	}
	fmt.Fprintf(stdout, "published %s to stream %s (sequence %d) on %s; GET /api/v1/dlq lists it once ingested\n",
		target, ack.Stream, ack.Sequence, nc.ConnectedUrlRedacted())
	return nil
}
