package dlq_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/golden-architecture/control-plane/services/dlq"
)

// TestEnsureByManyReplicasAtOnce: replicas starting together all succeed and
// leave one stream and one consumer with the configured limits.
func TestEnsureByManyReplicasAtOnce(t *testing.T) {
	f := newFixture(t)
	o := f.opts
	o.Stream, o.Consumer = o.Stream+"_X", o.Consumer+"_x"
	o.SubjectPrefix += "x"
	o.MaxAge = 36 * time.Hour
	t.Cleanup(func() { _ = f.js.DeleteStream(context.Background(), o.Stream) })
	var wg sync.WaitGroup
	errsCh := make(chan error, 6)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := dlq.Ensure(ctx, f.js, o)
			errsCh <- err
		}()
	}
	wg.Wait()
	close(errsCh)
	for err := range errsCh {
		if err != nil {
			t.Errorf("Ensure: %v", err)
		}
	}
	ctx := context.Background()
	s, err := f.js.Stream(ctx, o.Stream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	if cfg.Storage != jetstream.FileStorage || cfg.MaxAge != o.MaxAge || len(cfg.Subjects) != 1 || cfg.Subjects[0] != o.SubjectPrefix+".>" {
		t.Errorf("stream config = storage %v, max age %v, subjects %v; want file, %v, [%s.>]", cfg.Storage, cfg.MaxAge, cfg.Subjects, o.MaxAge, o.SubjectPrefix)
	}
	c, err := f.js.Consumer(ctx, o.Stream, o.Consumer)
	if err != nil {
		t.Fatal(err)
	}
	cc := c.CachedInfo().Config
	if cc.Durable != o.Consumer || cc.AckPolicy != jetstream.AckExplicitPolicy || cc.AckWait != o.AckWait || cc.MaxAckPending != dlq.DefaultMaxAckPending {
		t.Errorf("consumer config = %+v; want durable, explicit ack, AckWait %v, MaxAckPending %d", cc, o.AckWait, dlq.DefaultMaxAckPending)
	}
	// A stream that captures the DLQ subjects already is a rejection, not a retry.
	clash := o
	clash.Stream = o.Stream + "_CLASH"
	_, err = dlq.Ensure(ctx, f.js, clash)
	if err == nil || !dlq.Rejected(err) {
		t.Errorf("Ensure of an overlapping stream: err = %v, want a rejection", err)
	}
}
