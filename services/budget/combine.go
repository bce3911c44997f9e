package budget

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Every transaction that moves a budget's counters holds that budget's row
// lock until it commits, and every commit costs the database a WAL flush. The
// service therefore groups calls: while a transaction of one kind (reserve, or
// settle) runs in this process, further calls of that kind wait, whatever
// budget they touch, and the next transaction serves all of them (up to
// maxBatch) with one commit, each call still getting its own answer. An idle
// service runs a call at once: nothing waits for a timer. One transaction of
// a kind at a time also means a call on a budget another call of this process
// is using always joins the next batch rather than queueing on the row lock
// beside it. Replicas stay serialised by the row locks, which every batch
// takes in (tenant, project) order, and reservations in id order, so two
// replicas never wait for each other in opposite orders.
const maxBatch = 64

// batchTimeout bounds a transaction that serves several callers. No single
// caller's cancellation stops it, as that would fail the others' calls.
const batchTimeout = 30 * time.Second

// outcome is one call's answer from a batch.
type outcome[Out any] struct {
	out Out
	err error
}

// combiner runs calls in batches, one batch at a time.
type combiner[In, Out any] struct {
	// run answers every input, in order, in one transaction.
	run   func(ctx context.Context, ins []In) []outcome[Out]
	mu    sync.Mutex
	busy  bool             // a batch is running
	queue []*call[In, Out] // calls waiting for the next batch, in arrival order
}

type call[In, Out any] struct {
	in   In
	res  outcome[Out]
	done bool          // res is the answer; read after wake
	wake chan struct{} // answered, or first in line to run the next batch
}

func newCombiner[In, Out any](run func(context.Context, []In) []outcome[Out]) *combiner[In, Out] {
	return &combiner[In, Out]{run: run}
}

// do answers in. On an idle combiner the caller runs a batch of its own call
// at once. On a busy one it waits: for its answer, or to run the next batch
// of the calls that arrived meanwhile, itself first.
func (c *combiner[In, Out]) do(ctx context.Context, in In) (Out, error) {
	me := &call[In, Out]{in: in, wake: make(chan struct{}, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, me)
	busy := c.busy
	c.busy = true
	c.mu.Unlock()
	if busy {
		<-me.wake
		if me.done {
			return me.res.out, me.res.err
		}
	}

	c.mu.Lock()
	batch := c.queue[:min(len(c.queue), maxBatch)] // me first
	c.queue = c.queue[len(batch):]
	c.mu.Unlock()

	results := c.runBatch(ctx, batch)

	c.mu.Lock()
	for i, b := range batch {
		b.res, b.done = results[i], true
		if b != me {
			b.wake <- struct{}{}
		}
	}
	if len(c.queue) > 0 {
		c.queue[0].wake <- struct{}{}
	} else {
		c.busy, c.queue = false, nil
	}
	c.mu.Unlock()
	return me.res.out, me.res.err
}

// runBatch runs one batch; a panic becomes every call's error, so no caller
// waits forever and the combiner does not stay busy.
func (c *combiner[In, Out]) runBatch(ctx context.Context, batch []*call[In, Out]) (results []outcome[Out]) {
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
