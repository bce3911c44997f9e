package budget

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// combineRig is a combiner whose batches are recorded and can be held open.
type combineRig struct {
	c       *combiner[int, int]
	mu      sync.Mutex
	batches [][]int
	hold    chan struct{} // a batch containing 0 waits for it to close
}

func newCombineRig() *combineRig {
	r := &combineRig{hold: make(chan struct{})}
	r.c = newCombiner(func(_ context.Context, ins []int) []outcome[int] {
		r.mu.Lock()
		r.batches = append(r.batches, slices.Clone(ins))
		r.mu.Unlock()
		if slices.Contains(ins, 0) {
			<-r.hold
		}
		if slices.Contains(ins, -1) {
			panic("boom")
		}
		out := make([]outcome[int], len(ins))
		for i, in := range ins {
			out[i].out = in * 10
		}
		return out
	})
	return r
}

// start calls do in a goroutine and waits until the call is queued behind
// a running batch or running; the answer arrives on the returned channel.
func (r *combineRig) start(t *testing.T, in int) <-chan outcome[int] {
	t.Helper()
	before := r.queued()
	ch := make(chan outcome[int], 1)
	go func() {
		out, err := r.c.do(context.Background(), in)
		ch <- outcome[int]{out: out, err: err}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for r.queued() == before && !r.ran(in) {
		if time.Now().After(deadline) {
			t.Fatalf("call %d was never queued", in)
		}
		time.Sleep(time.Millisecond)
	}
	return ch
}

func (r *combineRig) queued() int {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	return len(r.c.queue)
}

func (r *combineRig) ran(in int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.batches {
		if slices.Contains(b, in) {
			return true
		}
	}
	return false
}

func answer(t *testing.T, ch <-chan outcome[int]) outcome[int] {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(5 * time.Second):
		t.Fatal("no answer within 5 s")
		return outcome[int]{}
	}
}

// An idle combiner runs a call at once; calls that arrive while a batch runs
// (whatever budget they are for) wait and are served by the next batches, at
// most maxBatch each, in arrival order, each with its own answer.
func TestCombinerBatchesCallsThatArriveWhileBusy(t *testing.T) {
	r := newCombineRig()
	first := r.start(t, 0) // runs at once and holds the combiner
	if !r.ran(0) {
		t.Fatal("the first call on an idle combiner did not run at once")
	}
	var later []<-chan outcome[int]
	for in := 1; in <= maxBatch+2; in++ {
		later = append(later, r.start(t, in))
	}
	close(r.hold)
	if o := answer(t, first); o.out != 0 || o.err != nil {
		t.Errorf("first call = %+v", o)
	}
	for i, ch := range later {
		if o := answer(t, ch); o.out != (i+1)*10 || o.err != nil {
			t.Errorf("call %d = %+v, want its own answer %d", i+1, o, (i+1)*10)
		}
	}
	var sizes []int
	for _, b := range r.batches {
		sizes = append(sizes, len(b))
		if !slices.IsSorted(b) {
			t.Errorf("batch %v is not in arrival order", b)
		}
	}
	if want := []int{1, maxBatch, 2}; !slices.Equal(sizes, want) {
		t.Errorf("batch sizes = %v, want %v", sizes, want)
	}
	if r.c.busy || len(r.c.queue) != 0 {
		t.Errorf("combiner busy=%v with %d queued after every call was answered", r.c.busy, len(r.c.queue))
	}
	if o := answer(t, r.start(t, 7)); o.out != 70 || o.err != nil {
		t.Errorf("call on the idle combiner = %+v, want 70", o)
	}
}

func TestCombinerPanicAnswersEveryCall(t *testing.T) {
	r := newCombineRig()
	first := r.start(t, 0)
	bad := r.start(t, -1)
	good := r.start(t, 5) // same batch as -1
	close(r.hold)
	answer(t, first)
	for _, ch := range []<-chan outcome[int]{bad, good} {
		if o := answer(t, ch); o.err == nil || !strings.Contains(o.err.Error(), "panicked: boom") {
			t.Errorf("call in a panicking batch = %+v, want the panic as its error", o)
		}
	}
	if o := answer(t, r.start(t, 3)); o.out != 30 || o.err != nil {
		t.Errorf("call after the panic = %+v, want 30 (the combiner is free again)", o)
	}
}
