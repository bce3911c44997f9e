package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/platform/natsbus"
)

// natsServer is the NATS of TEST_NATS_URL, or else a JetStream server of the
// test's own, started from the same library the embedded mode uses.
func natsServer(t *testing.T) string {
	t.Helper()
	if u := os.Getenv("TEST_NATS_URL"); u != "" {
		return u
	}
	srv, err := natsbus.StartEmbedded(t.TempDir(), -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv.ClientURL()
}

// TestDLQPublish publishes with the subcommand to a running service, through
// an external NATS and through the port of its embedded server, and reads
// the dead letter back from GET /api/v1/dlq.
func TestDLQPublish(t *testing.T) {
	tests := []struct {
		name    string
		env     func(t *testing.T) *testenv.Env
		subject string
	}{
		{"NATS_URL", func(t *testing.T) *testenv.Env {
			return testenv.New(t, "NATS_URL", natsServer(t))
		}, "orders.created"},
		{"embedded server port", func(t *testing.T) *testenv.Env {
			return testenv.New(t, "NATS_URL", "", "EMBEDDED_NATS_PORT", strconv.Itoa(testenv.FreePort(t)))
		}, "orders.created"},
		{"subject given with the prefix", func(t *testing.T) *testenv.Env {
			return testenv.New(t, "NATS_URL", natsServer(t))
		}, "PREFIX.orders.created"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env(t)
			srv := env.Start(t)
			prefix := env.Vars["DLQ_SUBJECT_PREFIX"]
			subject := strings.ReplaceAll(tt.subject, "PREFIX", prefix)
			var out bytes.Buffer
			err := run(context.Background(), []string{"dlq", "publish", "--subject", subject, "--error", "timeout", "--attempts", "3", "--data", `{"id":1}`},
				func(k string) string { return env.Vars[k] }, nil, &out, &out)
			want := fmt.Sprintf("published %s.orders.created to stream %s (sequence 1)", prefix, env.Vars["DLQ_STREAM"])
			if err != nil || !strings.Contains(out.String(), want) {
				t.Fatalf("dlq publish: %v\n%s\nwant %q", err, out.String(), want)
			}

			token := srv.Token(t, "admin")
			var list struct {
				Items []struct {
					OriginalSubject string `json:"original_subject"`
					DataPreview     string `json:"data_preview"`
					Error           string `json:"error"`
					Attempts        int    `json:"attempts"`
				}
			}
			testenv.Wait(t, 15*time.Second, "the dead letter in GET /api/v1/dlq", func() bool {
				srv.Get(t, "/api/v1/dlq", token).WantStatus(t, http.StatusOK).JSON(t, &list)
				return len(list.Items) > 0
			})
			if len(list.Items) != 1 {
				t.Fatalf("got %d items, want 1: %+v", len(list.Items), list.Items)
			}
			if got := list.Items[0]; got.OriginalSubject != "orders.created" || got.Error != "timeout" || got.Attempts != 3 || got.DataPreview != `{"id":1}` {
				t.Errorf("stored %+v, want orders.created, error timeout, 3 attempts, data {\"id\":1}", got)
			}
		})
	}
}

func TestDLQPublishRefuses(t *testing.T) {
	bare := natsServer(t) // no control plane: no stream captures the subject
	prefix := "dlqnone" + strconv.FormatInt(time.Now().UnixNano(), 36)
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"no NATS configured", map[string]string{}, []string{"publish", "--subject", "orders.created"}, "no NATS to publish to: set NATS_URL, or start the server with EMBEDDED_NATS_PORT"},
		{"no stream", map[string]string{"NATS_URL": bare, "DLQ_SUBJECT_PREFIX": prefix}, []string{"publish", "--subject", "orders.created"}, "no JetStream stream stores " + prefix + ".orders.created"},
		{"nothing listens", map[string]string{"EMBEDDED_NATS_PORT": strconv.Itoa(testenv.FreePort(t))}, []string{"publish", "--subject", "a", "--timeout", "2s"}, "connect to NATS"},
		{"no subject", map[string]string{"NATS_URL": bare}, []string{"publish"}, "--subject is required"},
		{"negative attempts", map[string]string{"NATS_URL": bare}, []string{"publish", "--subject", "a", "--attempts", "-1"}, "must not be negative"},
		{"unknown dlq command", map[string]string{}, []string{"list"}, `unknown dlq command "list"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"dlq"}, tt.args...)
			var out bytes.Buffer
			err := run(context.Background(), args, func(k string) string { return tt.env[k] }, nil, &out, &out)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(out.String(), "published") {
				t.Errorf("printed %q after a failure", out.String())
			}
		})
	}
}
