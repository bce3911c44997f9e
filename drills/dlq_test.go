package drills

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DLQ drill sizes.
const (
	dlqMessages   = 10_000
	dlqPublishers = 8
	// dlqPace spaces the publishes (~500/s) so that the kill and the NATS
	// restart happen while messages flow.
	dlqPace = 2 * time.Millisecond
	// dlqKillAt and dlqNATSRestartAt are the shares of messages published
	// before a replica is SIGKILLed and before NATS is restarted.
	dlqKillAt        = 0.3
	dlqNATSRestartAt = 0.6
)

// TestDLQDrill publishes 10,000 dead letters through JetStream (with
// Nats-Msg-Id, retried on every error) to a NATS server of its own while
// three replicas ingest them; one replica is SIGKILLed and restarted, and
// NATS itself is restarted once. Afterwards dlq_messages must hold exactly
// the 10,000 messages, each once.
func TestDLQDrill(t *testing.T) {
	needDrills(t)
	fig := newFigures(t, "dlq")
	ns := newNATSServer(t)
	natsURL := "nats://" + ns.addr()
	c := newCluster(t, clusterOptions{name: "dlq", redisDB: 12, natsURL: natsURL})
	c.startAll()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	nc, err := nats.Connect(natsURL, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond),
		nats.ReconnectBufSize(-1)) // no client-side buffering while disconnected: every publish waits for its ack
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream := c.vars["DLQ_STREAM"]
	if _, err := js.Stream(ctx, stream); err != nil {
		t.Fatalf("the replicas did not create stream %s: %v", stream, err)
	}
	prefix := c.vars["DLQ_SUBJECT_PREFIX"]
	run := randomHex(3)

	var (
		next       atomic.Int64
		published  atomic.Int64
		pubErrors  atomic.Int64
		duplicates atomic.Int64 // acks saying the stream already had this Nats-Msg-Id
		failed     atomic.Int64
		wg         sync.WaitGroup
	)
	start := time.Now()
	for range dlqPublishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= dlqMessages || ctx.Err() != nil {
					return
				}
				if wait := time.Until(start.Add(time.Duration(i) * dlqPace)); wait > 0 {
					time.Sleep(wait)
				}
				msg := nats.NewMsg(fmt.Sprintf("%s.drill.orders.%d", prefix, i%5))
				msg.Data = fmt.Appendf(nil, `{"run":%q,"n":%d}`, run, i)
				msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("drill-%s-%d", run, i))
				msg.Header.Set("error", "drill: handler failed")
				msg.Header.Set("attempts", "3")
				for ctx.Err() == nil {
					pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
					ack, err := js.PublishMsg(pctx, msg)
					pcancel()
					if err == nil {
						if ack.Duplicate {
							duplicates.Add(1)
						}
						published.Add(1)
						break
					}
					pubErrors.Add(1)
					time.Sleep(100 * time.Millisecond)
				}
				if ctx.Err() != nil {
					failed.Add(1)
				}
			}
		}()
	}

	for published.Load() < dlqMessages*dlqKillAt && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	killAt, killCount := time.Since(start), published.Load()
	c.nodes[0].Proc().Crash()
	time.Sleep(time.Second)
	restart := time.Now()
	c.start(0)
	replicaRestart := time.Since(restart)

	for published.Load() < dlqMessages*dlqNATSRestartAt && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	natsAt, natsCount := time.Since(start), published.Load()
	natsStop := time.Now()
	ns.stop(syscall.SIGTERM)
	time.Sleep(time.Second)
	ns.start()
	natsDown := time.Since(natsStop)

	wg.Wait()
	publishTook := time.Since(start)
	if failed.Load() > 0 || published.Load() != dlqMessages {
		t.Fatalf("published %d of %d messages (%d given up)", published.Load(), dlqMessages, failed.Load())
	}

	db := c.DB()
	var rows int64
	waitStart := time.Now()
	for {
		rows = queryInt(t, db, `SELECT count(*) FROM dlq_messages`)
		if rows >= dlqMessages || time.Since(waitStart) > 100*time.Second {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	ingestWait := time.Since(waitStart)
	// Messages a killed replica held come back after the consumer's
	// AckWait (30 s) and must insert nothing: wait until every delivered
	// message is acknowledged, then count again.
	var pending, ackPending uint64
	ackStart := time.Now()
	for {
		cons, err := js.Consumer(ctx, stream, c.vars["DLQ_CONSUMER"])
		if err == nil {
			ci := cons.CachedInfo()
			pending, ackPending = ci.NumPending, uint64(ci.NumAckPending)
			if pending == 0 && ackPending == 0 {
				break
			}
		}
		if time.Since(ackStart) > 60*time.Second {
			t.Errorf("consumer still has %d pending and %d unacknowledged messages after 60s (last error %v)", pending, ackPending, err)
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	ackWait := time.Since(ackStart)
	rows = queryInt(t, db, `SELECT count(*) FROM dlq_messages`)
	seqs := queryInt(t, db, `SELECT count(DISTINCT stream_seq) FROM dlq_messages`)
	payloads := queryInt(t, db, `SELECT count(DISTINCT data) FROM dlq_messages`)
	ours := queryInt(t, db, `SELECT count(*) FROM dlq_messages
		WHERE convert_from(data, 'UTF8')::jsonb ->> 'run' = $1
		  AND (convert_from(data, 'UTF8')::jsonb ->> 'n')::int BETWEEN 0 AND $2
		  AND original_subject LIKE 'drill.orders.%' AND error = 'drill: handler failed' AND error_count = 3`,
		run, dlqMessages-1)
	info, err := js.Stream(ctx, stream)
	var streamMsgs, lastSeq uint64
	if err == nil {
		streamMsgs, lastSeq = info.CachedInfo().State.Msgs, info.CachedInfo().State.LastSeq
	}

	fig.add("replicas", len(c.nodes))
	fig.add("messages published (JetStream, Nats-Msg-Id)", dlqMessages)
	fig.addf("publish", "%s (paced at ~%d/s by %d publishers)", publishTook.Round(100*time.Millisecond), time.Second/dlqPace, dlqPublishers)
	fig.addf("SIGKILL", "replica r1 at %s, after %d acks; restarted (ready) in %s",
		killAt.Round(100*time.Millisecond), killCount, replicaRestart.Round(10*time.Millisecond))
	fig.addf("NATS restart", "at %s, after %d acks; down for %s (SIGTERM, same port and store)",
		natsAt.Round(100*time.Millisecond), natsCount, natsDown.Round(10*time.Millisecond))
	fig.add("publish errors retried", pubErrors.Load())
	fig.add("retried publishes the stream recognised as duplicates", duplicates.Load())
	fig.addf("stream after the run", "%d messages, last sequence %d", streamMsgs, lastSeq)
	fig.add("wait until all 10,000 rows were stored, after the last publish", ingestWait.Round(100*time.Millisecond))
	fig.addf("then wait until the consumer had nothing pending or unacknowledged (redeliveries after AckWait)",
		"%s (%d pending, %d unacknowledged at the end)", ackWait.Round(100*time.Millisecond), pending, ackPending)
	fig.addf("dlq_messages", "%d rows, %d distinct stream sequences, %d distinct payloads, %d matching this run's messages",
		rows, seqs, payloads, ours)
	fig.check(t, "the stream holds each message once", streamMsgs == dlqMessages && lastSeq == dlqMessages,
		"%d messages, last sequence %d", streamMsgs, lastSeq)
	fig.check(t, "exactly 10,000 rows, no duplicates, none lost",
		rows == dlqMessages && seqs == dlqMessages && payloads == dlqMessages && ours == dlqMessages,
		"%d rows, %d sequences, %d payloads, %d ours", rows, seqs, payloads, ours)
	errs := c.errorLines()
	fig.check(t, "no ERROR in the replicas' logs", len(errs) == 0, "%d, first %v", len(errs), first(errs, 5))
}
