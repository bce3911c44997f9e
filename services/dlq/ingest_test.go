package dlq_test

import (
	"context"
	neturl "net/url"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/golden-architecture/control-plane/internal/metrictest"
	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/platform/natsbus"
	"github.com/golden-architecture/control-plane/services/dlq"
)

func TestIngestStoresEachMessageOnce(t *testing.T) {
	f := newFixture(t)
	f.runIngestor(t, f.opts)
	f.publish(t, "orders.created", 1, 1000)
	waitRows(t, f.db, 1000)
	f.waitAcked(t)

	var row models.DLQMessage
	if err := f.db.Where("stream_seq = ?", 7).Take(&row).Error; err != nil {
		t.Fatal(err)
	}
	if row.OriginalSubject != "orders.created" || string(row.Data) != `{"n":7}` || row.Error != "handler timeout" ||
		row.ErrorCount != 3 || row.Resolved || row.CreatedAt.IsZero() {
		t.Errorf("row = %+v; want subject orders.created, data {\"n\":7}, error \"handler timeout\", 3 attempts, unresolved", row)
	}
	if got := metrictest.Value(t, f.reg, "dlq_ingested_total", nil); got != 1000 {
		t.Errorf("dlq_ingested_total = %v, want 1000", got)
	}
	if got := metrictest.Value(t, f.reg, "dlq_unresolved", nil); got != 1000 {
		t.Errorf("dlq_unresolved = %v, want 1000", got)
	}
}

func TestIngestRestartMidway(t *testing.T) {
	f := newFixture(t)
	small := f.opts
	small.Batch = 10
	stop := f.runIngestor(t, small)
	f.publish(t, "orders.created", 1, 1000)
	testenv.Wait(t, 30*time.Second, "some rows", func() bool { return countRows(t, f.db) >= 50 })
	stop()
	t.Logf("stopped after %d of 1000 rows", countRows(t, f.db))

	f.runIngestor(t, small)
	waitRows(t, f.db, 1000)
	f.waitAcked(t)
}

func TestIngestRedeliveryOfStoredMessageAddsNoRow(t *testing.T) {
	f := newFixture(t)
	// Rows as if a previous run committed seq 1..10 and crashed before acking.
	for seq := int64(1); seq <= 10; seq++ {
		row := models.DLQMessage{ID: uuid.NewString(), StreamSeq: seq, OriginalSubject: "stored.before", Data: []byte("x"),
			Headers: models.JSONMap{}, CreatedAt: time.Now().UTC()}
		if err := f.db.Create(&row).Error; err != nil {
			t.Fatal(err)
		}
	}
	f.runIngestor(t, f.opts)
	f.publish(t, "orders.created", 1, 30)
	waitRows(t, f.db, 30)
	f.waitAcked(t)
	var kept int64
	f.db.Model(&models.DLQMessage{}).Where("original_subject = ?", "stored.before").Count(&kept)
	if kept != 10 {
		t.Errorf("rows stored before = %d, want the 10 untouched", kept)
	}
	if got := metrictest.Value(t, f.reg, "dlq_ingested_total", nil); got != 20 {
		t.Errorf("dlq_ingested_total = %v, want 20 (redeliveries are not counted)", got)
	}
}

func TestTwoIngestorsStoreEachMessageOnce(t *testing.T) {
	f := newFixture(t)
	f.runIngestor(t, f.opts)
	f.runIngestor(t, f.opts)
	f.publish(t, "orders.created", 1, 1000)
	waitRows(t, f.db, 1000)
	f.waitAcked(t)
}

func TestIngestBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 messages; skipped with -short")
	}
	if db, _, _ := testenv.External(); raceDetector && !db {
		t.Skip("10,000 messages on SQLite under the race detector take minutes; run without -race or with TEST_DATABASE_URL")
	}
	f := newFixture(t)
	o := f.opts
	o.Batch = 0 // the default
	start := time.Now()
	f.publish(t, "burst", 1, 10_000)
	t.Logf("published 10,000 in %s", time.Since(start))
	start = time.Now()
	f.runIngestor(t, o)
	waitRows(t, f.db, 10_000)
	t.Logf("stored 10,000 in %s", time.Since(start))
	f.waitAcked(t)
}

func TestIngestSurvivesNATSRestart(t *testing.T) {
	f := newFixture(t) // the database; NATS is a server of this test's own
	dir := t.TempDir()
	srv, err := natsbus.StartEmbedded(filepath.Join(dir, "nats"), -1)
	if err != nil {
		t.Fatal(err)
	}
	url := srv.ClientURL()
	t.Cleanup(func() { srv.Shutdown() })
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	in := dlq.NewIngestor(js, f.db, f.metrics, f.log, f.opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); in.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	testenv.Wait(t, 10*time.Second, "stream created", func() bool {
		_, err := js.Stream(context.Background(), f.opts.Stream)
		return err == nil
	})
	publishTo(t, js, f.opts.SubjectPrefix+".a", 1, 100)
	waitRows(t, f.db, 100)

	srv.Shutdown()
	srv.WaitForShutdown()
	srv2 := restartEmbedded(t, filepath.Join(dir, "nats"), url)
	t.Cleanup(func() { srv2.Shutdown() })
	// Not nc.IsConnected: on a busy machine the client may not have read the
	// old server's EOF yet and still reports that dead connection as
	// connected; publishes made then are failed when it notices.
	testenv.Wait(t, 10*time.Second, "reconnected to the restarted server", func() bool {
		return nc.ConnectedServerId() == srv2.ID()
	})
	publishTo(t, js, f.opts.SubjectPrefix+".a", 101, 100)
	waitRows(t, f.db, 200)
}

// restartEmbedded starts a NATS server again on the port of url, on the
// same store, as a restarted production server would come back.
func restartEmbedded(t *testing.T, dir, url string) *server.Server {
	t.Helper()
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := natsbus.StartEmbedded(dir, port)
	if err != nil {
		t.Fatalf("restart NATS on port %d: %v", port, err)
	}
	return srv
}

// TestIngestRecreatedStream: a NATS server that comes back without its state
// gets the stream and consumer again at once; its sequence numbers restart,
// and a message whose sequence is already stored is reported and kept in the
// stream rather than acknowledged as a duplicate and lost.
func TestIngestRecreatedStream(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	srv, err := natsbus.StartEmbedded(filepath.Join(dir, "before"), -1)
	if err != nil {
		t.Fatal(err)
	}
	url := srv.ClientURL()
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	fx := *f
	fx.js = js
	fx.runIngestor(t, f.opts)
	streamExists := func() bool { _, err := js.Stream(context.Background(), f.opts.Stream); return err == nil }
	testenv.Wait(t, 10*time.Second, "stream created", streamExists)
	publishTo(t, js, f.opts.SubjectPrefix+".a", 1, 10)
	waitRows(t, f.db, 10)

	srv.Shutdown()
	srv.WaitForShutdown()
	srv2 := restartEmbedded(t, filepath.Join(dir, "after"), url)
	t.Cleanup(srv2.Shutdown)
	testenv.Wait(t, 10*time.Second, "stream re-created after the reconnect", streamExists)

	// Sequences 1..12 again: 1..10 are taken, 11 and 12 are new.
	publishTo(t, js, f.opts.SubjectPrefix+".b", 1, 12)
	waitRows(t, f.db, 12)
	fx.waitAcked(t)
	var kept int64
	f.db.Model(&models.DLQMessage{}).Where("original_subject = ? AND stream_seq <= 10", "a").Count(&kept)
	if kept != 10 {
		t.Errorf("rows of the first stream = %d, want the 10 untouched", kept)
	}
	stream, err := js.Stream(context.Background(), f.opts.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.GetMsg(context.Background(), 1); err != nil {
		t.Errorf("the unstored message left the stream: %v", err)
	}
}
