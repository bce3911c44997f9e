package budget

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// A budget's counters live in one row, and every transaction that moves them
// holds that row's lock until it commits. A budget shared by many agents is
// therefore limited to one transaction, and one commit, at a time. The
// service combines the calls on one budget that arrive while a transaction of
// this process is in flight: the next transaction serves all of them (up to
// maxBatch) with one lock turn and one commit, and each call still gets its
// own answer. The database statements decide exactly as they do for a single
// call, so replicas stay serialised by the row lock as before.
const maxBatch = 64

// batchTimeout bounds a transaction that serves several callers. No single
// caller's cancellation stops it, as that would fail the others' calls.
const batchTimeout = 30 * time.Second

// outcome is one call's answer from a batch.
type outcome[Out any] struct {
	out Out
	err error
}

// combiner runs the calls of one key in batches, one batch at a time per key.
type combiner[K comparable, In, Out any] struct {
	// run answers every input, in order, in one transaction.
	run    func(ctx context.Context, ins []In) []outcome[Out]
	mu     sync.Mutex
	queues map[K][]*call[In, Out] // calls waiting for the next batch, per busy key
}

type call[In, Out any] struct {
	in   In
	res  outcome[Out]
	done bool          // res is the answer; read after wake
	wake chan struct{} // answered, or first in line to run the next batch
}

func newCombiner[K comparable, In, Out any](run func(context.Context, []In) []outcome[Out]) *combiner[K, In, Out] {
	return &combiner[K, In, Out]{run: run, queues: map[K][]*call[In, Out]{}}
}

// do answers in. On an idle key the caller runs a batch of its own call at
// once. On a busy key it waits: for its answer, or to run the next batch of
// the calls that arrived meanwhile, itself first.
func (c *combiner[K, In, Out]) do(ctx context.Context, key K, in In) (Out, error) {
	me := &call[In, Out]{in: in, wake: make(chan struct{}, 1)}
	c.mu.Lock()
	waiting, busy := c.queues[key]
	c.queues[key] = append(waiting, me)
	c.mu.Unlock()
	if busy {
		<-me.wake
		if me.done {
			return me.res.out, me.res.err
		}
	}

	c.mu.Lock()
	waiting = c.queues[key]
	batch := waiting[:min(len(waiting), maxBatch)] // me first
	c.queues[key] = waiting[len(batch):]
	c.mu.Unlock()

	results := c.runBatch(ctx, batch)

	c.mu.Lock()
	for i, b := range batch {
		b.res, b.done = results[i], true
		if b != me {
			b.wake <- struct{}{}
		}
	}
	if next := c.queues[key]; len(next) > 0 {
		next[0].wake <- struct{}{}
	} else {
		delete(c.queues, key)
	}
	c.mu.Unlock()
	return me.res.out, me.res.err
}

// runBatch runs one batch; a panic becomes every call's error, so no caller
// waits forever and the key does not stay busy.
func (c *combiner[K, In, Out]) runBatch(ctx context.Context, batch []*call[In, Out]) (results []outcome[Out]) {
	defer func() {
		if r := recover(); r != nil {
			results = fail[Out](len(batch), fmt.Errorf("budget: batch panicked: %v", r))
		}
	}()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), batchTimeout)
	defer cancel()
	ins := make([]In, len(batch))
	for i, b := range batch {
		ins[i] = b.in
	}
	results = c.run(ctx, ins)
	if len(results) != len(batch) {
		return fail[Out](len(batch), fmt.Errorf("budget: batch of %d answered %d calls", len(batch), len(results)))
	}
	return results
}

// fail is the same error for n calls.
func fail[Out any](n int, err error) []outcome[Out] {
	out := make([]outcome[Out], n)
	for i := range out {
		out[i].err = err
	}
	return out
}
