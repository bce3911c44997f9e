package dlq_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/golden-architecture/control-plane/internal/metrictest"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/dlq"
	"github.com/golden-architecture/control-plane/services/errs"
)

var admin = audit.Actor{UserID: "u-admin", Username: "admin", Role: "admin", RequestID: "req-1"}

// ingestOne publishes one message to <prefix>.<subject> with headers and
// returns its stored row.
func (f *fixture) ingestOne(t *testing.T, subject string, data string, h nats.Header) models.DLQMessage {
	t.Helper()
	before := countRows(t, f.db)
	if _, err := f.js.PublishMsg(context.Background(), &nats.Msg{Subject: f.opts.SubjectPrefix + "." + subject, Data: []byte(data), Header: h}); err != nil {
		t.Fatal(err)
	}
	stop := f.runIngestor(t, f.opts)
	defer stop()
	var row models.DLQMessage
	deadline := time.Now().Add(20 * time.Second)
	for countRows(t, f.db) <= before {
		if time.Now().After(deadline) {
			t.Fatal("message not ingested within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := f.db.Order("stream_seq DESC").Take(&row).Error; err != nil {
		t.Fatal(err)
	}
	return row
}

func (f *fixture) reload(t *testing.T, id string) models.DLQMessage {
	t.Helper()
	var row models.DLQMessage
	if err := f.db.Where("id = ?", id).Take(&row).Error; err != nil {
		t.Fatal(err)
	}
	return row
}

func TestResolveWithoutRequeue(t *testing.T) {
	f := newFixture(t)
	svc := f.service(nil)
	row := f.ingestOne(t, "orders.created", `{"id":1}`, nats.Header{"error": {"timeout"}})
	got, err := svc.Resolve(context.Background(), admin, strings.ToUpper(row.ID), dlq.Resolution{Note: "  handled by hand  "})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(dlq.Resolved{MessageID: row.ID}, got); diff != "" {
		t.Errorf("Resolve (-want +got):\n%s", diff)
	}
	stored := f.reload(t, row.ID)
	if !stored.Resolved || stored.ResolvedAt == nil || deref(stored.ResolvedBy) != "admin" ||
		deref(stored.ResolutionNotes) != "handled by hand" || stored.RequeuedAt != nil || stored.RequeueCount != 0 || stored.ClaimToken != nil {
		t.Errorf("stored = %+v; want resolved by admin with the trimmed note, not requeued, no claim", stored)
	}
	var entry models.AuditEntry
	if err := f.db.Where("action = ? AND resource_id = ?", dlq.AuditAction, row.ID).Take(&entry).Error; err != nil {
		t.Fatalf("audit entry: %v", err)
	}
	if entry.UserID != "u-admin" || entry.RequestID != "req-1" || entry.Details["note"] != "handled by hand" || entry.Details["requeue"] != false {
		t.Errorf("audit entry = %+v; want by u-admin, request req-1, note and requeue=false", entry)
	}
	if got := metrictest.Value(t, f.reg, "dlq_resolved_total", nil); got != 1 {
		t.Errorf("dlq_resolved_total = %v, want 1", got)
	}
	if got := metrictest.Value(t, f.reg, "dlq_requeued_total", nil); got != 0 {
		t.Errorf("dlq_requeued_total = %v, want 0", got)
	}
	if got := metrictest.Value(t, f.reg, "dlq_unresolved", nil); got != 0 {
		t.Errorf("dlq_unresolved = %v, want 0", got)
	}

	_, err = svc.Resolve(context.Background(), admin, row.ID, dlq.Resolution{Note: "again"})
	if !errs.Is(err, errs.CodeDLQResolved) {
		t.Fatalf("second resolve: err = %v, want %s", err, errs.CodeDLQResolved)
	}
	var entries int64
	f.db.Model(&models.AuditEntry{}).Where("action = ?", dlq.AuditAction).Count(&entries)
	if entries != 1 {
		t.Errorf("audit entries = %d, want 1", entries)
	}
}

func TestResolveRequeueCoreNATS(t *testing.T) {
	f := newFixture(t)
	svc := f.service(nil)
	orig := "orig" + randomID(t) + ".created"
	h := nats.Header{"error": {"timeout"}, "X-Trace": {"t-1"}, "Nats-Msg-Id": {"producer-1"}}
	row := f.ingestOne(t, orig, `{"id":42}`, h)

	sub, err := f.nc.SubscribeSync(orig)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Resolve(context.Background(), admin, row.ID, dlq.Resolution{Note: "replay", Requeue: true})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Requeued {
		t.Errorf("Requeued = false, want true")
	}
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("requeued message not received: %v", err)
	}
	if string(msg.Data) != `{"id":42}` || msg.Header.Get("error") != "timeout" || msg.Header.Get("X-Trace") != "t-1" {
		t.Errorf("received %q with headers %v; want the payload with error and X-Trace", msg.Data, msg.Header)
	}
	if _, err := sub.NextMsg(300 * time.Millisecond); !errors.Is(err, nats.ErrTimeout) {
		t.Errorf("a second message arrived (err %v); want exactly one", err)
	}
	stored := f.reload(t, row.ID)
	if !stored.Resolved || stored.RequeuedAt == nil || stored.RequeueCount != 1 {
		t.Errorf("stored = %+v; want resolved, requeued once", stored)
	}
	if got := metrictest.Value(t, f.reg, "dlq_requeued_total", nil); got != 1 {
		t.Errorf("dlq_requeued_total = %v, want 1", got)
	}
	// The requeued message did not come back into the DLQ.
	if n := countRows(t, f.db); n != 1 {
		t.Errorf("rows = %d, want 1", n)
	}
}

func TestResolveRequeueJetStreamDeduplicates(t *testing.T) {
	f := newFixture(t)
	svc := f.service(nil)
	orig := "origjs" + randomID(t)
	ctx := context.Background()
	stream, err := f.js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORIG_" + randomID(t), Subjects: []string{orig + ".>"}, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.js.DeleteStream(context.Background(), stream.CachedInfo().Config.Name) })
	row := f.ingestOne(t, orig+".created", `{"id":7}`, nats.Header{"X-Trace": {"t-7"}})

	if _, err := svc.Resolve(ctx, admin, row.ID, dlq.Resolution{Note: "replay", Requeue: true}); err != nil {
		t.Fatal(err)
	}
	// The same publish again (a retry after a lost answer) is dropped by the stream.
	pub := &dlq.NATSPublisher{Conn: f.nc, JS: f.js}
	dup := &nats.Msg{Subject: orig + ".created", Data: []byte(`{"id":7}`), Header: nats.Header{}}
	if err := pub.Publish(ctx, dup, "dlq-requeue:"+row.ID+":1"); err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("stream holds %d messages, want 1", info.State.Msgs)
	}
	got, err := stream.GetMsg(ctx, info.State.FirstSeq)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != `{"id":7}` || got.Header.Get("X-Trace") != "t-7" || got.Header.Get(jetstream.MsgIDHeader) != "dlq-requeue:"+row.ID+":1" {
		t.Errorf("stored %q with headers %v; want the payload, X-Trace and the derived Nats-Msg-Id", got.Data, got.Header)
	}
}

func TestResolveRefusesSubjectUnderPrefix(t *testing.T) {
	f := newFixture(t)
	svc := f.service(nil)
	// Published to <prefix>.<prefix>.orders: its original subject is in the DLQ itself.
	row := f.ingestOne(t, f.opts.SubjectPrefix+".orders", "x", nil)
	_, err := svc.Resolve(context.Background(), admin, row.ID, dlq.Resolution{Note: "loop?", Requeue: true})
	if !errs.Is(err, errs.CodeConflict) {
		t.Fatalf("err = %v, want %s", err, errs.CodeConflict)
	}
	if stored := f.reload(t, row.ID); stored.Resolved || stored.ClaimToken != nil {
		t.Errorf("stored = %+v; want unresolved and unclaimed", stored)
	}
	if n := countRows(t, f.db); n != 1 {
		t.Errorf("rows = %d, want 1", n)
	}
}

func TestResolvePublishFailureLeavesMessageUnresolved(t *testing.T) {
	f := newFixture(t)
	failing := f.service(dlq.PublisherFunc(func(context.Context, *nats.Msg, string) error {
		return errors.New("connection refused")
	}))
	row := f.ingestOne(t, "orders.created", "x", nil)
	_, err := failing.Resolve(context.Background(), admin, row.ID, dlq.Resolution{Note: "replay", Requeue: true})
	if !errs.Is(err, errs.CodeUnavailable) {
		t.Fatalf("err = %v, want %s", err, errs.CodeUnavailable)
	}
	if stored := f.reload(t, row.ID); stored.Resolved || stored.ClaimToken != nil || stored.RequeueCount != 0 {
		t.Errorf("stored = %+v; want unresolved, unclaimed, never requeued", stored)
	}
	var entries int64
	f.db.Model(&models.AuditEntry{}).Where("action = ?", dlq.AuditAction).Count(&entries)
	if entries != 0 {
		t.Errorf("audit entries = %d, want 0", entries)
	}
	// Once NATS works again the same request succeeds.
	if _, err := f.service(nil).Resolve(context.Background(), admin, row.ID, dlq.Resolution{Note: "replay", Requeue: true}); err != nil {
		t.Fatalf("retry: %v", err)
	}
}

func TestConcurrentResolvesOneWins(t *testing.T) {
	for _, requeue := range []bool{false, true} {
		t.Run(map[bool]string{false: "resolve", true: "requeue"}[requeue], func(t *testing.T) {
			f := newFixture(t)
			orig := "conc" + randomID(t)
			row := f.ingestOne(t, orig, "x", nil)
			sub, err := f.nc.SubscribeSync(orig)
			if err != nil {
				t.Fatal(err)
			}
			// Two replicas: two services on the same database.
			services := []*dlq.Service{f.service(nil), f.service(nil)}
			const n = 8
			results := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, results[i] = services[i%2].Resolve(context.Background(), admin, row.ID, dlq.Resolution{Note: "race", Requeue: requeue})
				}()
			}
			close(start)
			wg.Wait()
			ok := 0
			for _, err := range results {
				switch {
				case err == nil:
					ok++
				case errs.Is(err, errs.CodeDLQResolved), errs.Is(err, errs.CodeConflict):
				default:
					t.Errorf("unexpected error %v", err)
				}
			}
			if ok != 1 {
				t.Fatalf("%d resolves succeeded, want 1 (results %v)", ok, results)
			}
			if requeue {
				if _, err := sub.NextMsg(5 * time.Second); err != nil {
					t.Fatalf("requeued message not received: %v", err)
				}
				if _, err := sub.NextMsg(300 * time.Millisecond); !errors.Is(err, nats.ErrTimeout) {
					t.Errorf("a second copy arrived (err %v); want exactly one publish", err)
				}
			}
			var entries int64
			f.db.Model(&models.AuditEntry{}).Where("action = ?", dlq.AuditAction).Count(&entries)
			if entries != 1 {
				t.Errorf("audit entries = %d, want 1", entries)
			}
		})
	}
}

func TestResolveWhileAnotherRequeueIsPublishing(t *testing.T) {
	f := newFixture(t)
	row := f.ingestOne(t, "orders.created", "x", nil)
	entered, release := make(chan struct{}), make(chan struct{})
	slow := f.service(dlq.PublisherFunc(func(context.Context, *nats.Msg, string) error {
		close(entered)
		<-release
		return nil
	}))
	done := make(chan error, 1)
	go func() {
		_, err := slow.Resolve(context.Background(), admin, row.ID, dlq.Resolution{Note: "slow", Requeue: true})
		done <- err
	}()
	<-entered
	_, err := f.service(nil).Resolve(context.Background(), admin, row.ID, dlq.Resolution{Note: "fast"})
	if !errs.Is(err, errs.CodeConflict) {
		t.Errorf("resolve during a requeue: err = %v, want %s", err, errs.CodeConflict)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the requeue: %v", err)
	}
	if stored := f.reload(t, row.ID); !stored.Resolved || deref(stored.ResolutionNotes) != "slow" || stored.RequeueCount != 1 {
		t.Errorf("stored = %+v; want resolved by the requeue", stored)
	}
}

func TestResolveRejects(t *testing.T) {
	f := newFixture(t)
	svc := f.service(nil)
	row := f.ingestOne(t, "orders.created", "x", nil)
	tests := []struct {
		name string
		id   string
		note string
		want errs.Code
	}{
		{"blank note", row.ID, "   ", errs.CodeUnprocessable},
		{"note too long", row.ID, strings.Repeat("é", dlq.MaxNoteChars+1), errs.CodeUnprocessable},
		{"unknown id", "0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11", "n", errs.CodeNotFound},
		{"malformed id", "not-a-uuid", "n", errs.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.Resolve(context.Background(), admin, tt.id, dlq.Resolution{Note: tt.note})
			if !errs.Is(err, tt.want) {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
		})
	}
	if _, err := svc.Resolve(context.Background(), admin, row.ID, dlq.Resolution{Note: strings.Repeat("é", dlq.MaxNoteChars)}); err != nil {
		t.Errorf("a note of exactly %d characters: %v", dlq.MaxNoteChars, err)
	}
}

func TestGet(t *testing.T) {
	f := newFixture(t)
	svc := f.service(nil)
	row := f.ingestOne(t, "orders.created", `{"id":1}`, nats.Header{"error": {"timeout"}, "attempts": {"4"}})
	got, err := svc.Get(context.Background(), row.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := dlq.Message{
		ID: row.ID, StreamSeq: 1, OriginalSubject: "orders.created", Data: []byte(`{"id":1}`),
		Headers: map[string][]string{"error": {"timeout"}, "attempts": {"4"}},
		Error:   "timeout", Attempts: 4, CreatedAt: got.CreatedAt,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
	if got.CreatedAt.IsZero() || got.CreatedAt.Location() != time.UTC {
		t.Errorf("created_at = %v, want a UTC time", got.CreatedAt)
	}
	for _, id := range []string{"0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11", "x", ""} {
		if _, err := svc.Get(context.Background(), id); !errs.Is(err, errs.CodeNotFound) {
			t.Errorf("Get(%q): err = %v, want %s", id, err, errs.CodeNotFound)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
