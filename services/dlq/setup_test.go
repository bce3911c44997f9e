package dlq_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/internal/dbtest"
	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/platform/natsbus"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/dlq"
)

// fixture is a database and a NATS connection of the test's own (the
// external ones with TEST_DATABASE_URL and TEST_NATS_URL, else SQLite and an
// embedded server) plus a stream, subject prefix and consumer of its own.
type fixture struct {
	db      *gorm.DB
	nc      *nats.Conn
	js      jetstream.JetStream
	opts    dlq.Options
	reg     *prometheus.Registry
	metrics *dlq.Metrics
	log     *slog.Logger
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	bus, err := natsbus.Open(context.Background(), natsbus.Options{
		URL: os.Getenv("TEST_NATS_URL"), DataDir: t.TempDir(), Name: "dlq-test",
	})
	if err != nil {
		t.Fatalf("connect to NATS: %v", err)
	}
	t.Cleanup(bus.Close)
	id := randomID(t)
	f := &fixture{
		db:  dbtest.New(t).DB,
		nc:  bus.Conn,
		js:  bus.JS,
		reg: prometheus.NewRegistry(),
		opts: dlq.Options{
			Stream: "DLQT_" + id, SubjectPrefix: "dlqt" + id, Consumer: "dlqt_" + id,
			AckWait: 2 * time.Second, Batch: 50, RetryMin: 20 * time.Millisecond, RetryMax: 500 * time.Millisecond,
		},
		log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if os.Getenv("TEST_LOG") != "" {
		f.log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	m, err := dlq.NewMetrics(f.reg)
	if err != nil {
		t.Fatal(err)
	}
	f.metrics = m
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := dlq.Ensure(ctx, f.js, f.opts); err != nil {
		t.Fatalf("ensure stream: %v", err)
	}
	// Registered after the connection, so it runs before the connection closes.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = f.js.DeleteStream(ctx, f.opts.Stream)
	})
	return f
}

func randomID(t *testing.T) string {
	t.Helper()
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// service returns a resolve/list service on the fixture with publisher.
func (f *fixture) service(p dlq.Publisher) *dlq.Service {
	if p == nil {
		p = &dlq.NATSPublisher{Conn: f.nc, JS: f.js}
	}
	return dlq.New(f.db, audit.New(f.db), p, f.metrics, f.opts)
}

// runIngestor runs an ingest worker until the returned stop is called (or
// the test ends); stop waits for it to return.
func (f *fixture) runIngestor(t *testing.T, o dlq.Options) (stop func()) {
	t.Helper()
	in := dlq.NewIngestor(f.js, f.db, f.metrics, f.log, o)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		in.Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
		})
	}
	t.Cleanup(stop)
	return stop
}

// publish puts n messages on <prefix>.<subject> through JetStream, each with
// its number as payload and error/attempts headers, and waits for the acks.
func (f *fixture) publish(t *testing.T, subject string, from, n int) {
	t.Helper()
	publishTo(t, f.js, f.opts.SubjectPrefix+"."+subject, from, n)
}

// publishTo is publish on any subject and connection. It fails the test
// unless the stream acknowledged every message: an async publish whose
// connection drops is failed (nats.ErrDisconnected) rather than retried, and
// PublishAsyncComplete fires all the same, so without this check a lost
// publish looks like ingest that never happens.
func publishTo(t *testing.T, js jetstream.JetStream, subject string, from, n int) {
	t.Helper()
	futures := make([]jetstream.PubAckFuture, 0, n)
	for i := from; i < from+n; i++ {
		msg := &nats.Msg{Subject: subject, Data: fmt.Appendf(nil, `{"n":%d}`, i),
			Header: nats.Header{"error": {"handler timeout"}, "attempts": {"3"}}}
		future, err := js.PublishMsgAsync(msg)
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		futures = append(futures, future)
	}
	timeout := time.After(30 * time.Second)
	for i, future := range futures {
		select {
		case <-future.Ok():
		case err := <-future.Err():
			t.Fatalf("publish %d of %d..%d not stored in the stream: %v", from+i, from, from+n-1, err)
		case <-timeout:
			t.Fatalf("publish %d of %d..%d not acknowledged within 30s", from+i, from, from+n-1)
		}
	}
}

func countRows(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Model(&models.DLQMessage{}).Count(&n).Error; err != nil {
		t.Fatalf("count rows: %v", err)
	}
	return n
}

// waitRows waits until want rows are stored, then checks no more arrive and
// every stream sequence 1..want is stored exactly once.
func waitRows(t *testing.T, db *gorm.DB, want int64) {
	t.Helper()
	testenv.Wait(t, 60*time.Second, fmt.Sprintf("%d DLQ rows", want), func() bool { return countRows(t, db) >= want })
	time.Sleep(300 * time.Millisecond)
	var got struct {
		N, Uniq, Lo, Hi int64
	}
	err := db.Model(&models.DLQMessage{}).
		Select("count(*) AS n, count(DISTINCT stream_seq) AS uniq, min(stream_seq) AS lo, max(stream_seq) AS hi").
		Scan(&got).Error
	if err != nil {
		t.Fatal(err)
	}
	if got.N != want || got.Uniq != want || got.Lo != 1 || got.Hi != want {
		t.Fatalf("rows = %d, distinct stream_seq = %d, range %d..%d; want %d rows, each of 1..%d once",
			got.N, got.Uniq, got.Lo, got.Hi, want, want)
	}
}

// waitAcked waits until the consumer has nothing pending or unacknowledged.
func (f *fixture) waitAcked(t *testing.T) {
	t.Helper()
	testenv.Wait(t, 30*time.Second, "every message acknowledged", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c, err := f.js.Consumer(ctx, f.opts.Stream, f.opts.Consumer)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
}
