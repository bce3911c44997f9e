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
	c       *combiner[string, int, int]
	mu      sync.Mutex
	batches [][]int
	hold    chan struct{} // a batch containing 0 waits for it to close
}

func newCombineRig() *combineRig {
	r := &combineRig{hold: make(chan struct{})}
	r.c = newCombiner[string](func(_ context.Context, ins []int) []outcome[int] {
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
// a busy key or running; the answer arrives on the returned channel.
func (r *combineRig) start(t *testing.T, key string, in int) <-chan outcome[int] {
	t.Helper()
	before := r.queued(key)
	ch := make(chan outcome[int], 1)
	go func() {
		out, err := r.c.do(context.Background(), key, in)
		ch <- outcome[int]{out: out, err: err}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for r.queued(key) == before && !r.ran(in) {
		if time.Now().After(deadline) {
			t.Fatalf("call %d was never queued", in)
		}
		time.Sleep(time.Millisecond)
	}
	return ch
}

func (r *combineRig) queued(key string) int {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	return len(r.c.queues[key])
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

func TestCombinerBatchesCallsThatArriveWhileBusy(t *testing.T) {
	r := newCombineRig()
	first := r.start(t, "a", 0) // runs at once and holds the key
	var later []<-chan outcome[int]
	for in := 1; in <= maxBatch+2; in++ {
		later = append(later, r.start(t, "a", in))
	}
	other := answer(t, r.start(t, "b", 7)) // another key does not wait
	if other.out != 70 || other.err != nil {
		t.Errorf("call on another key = %+v, want 70", other)
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
		if b[0] != 7 {
			sizes = append(sizes, len(b))
		}
		if !slices.IsSorted(b) {
			t.Errorf("batch %v is not in arrival order", b)
		}
	}
	if want := []int{1, maxBatch, 2}; !slices.Equal(sizes, want) {
		t.Errorf("batch sizes on key a = %v, want %v", sizes, want)
	}
	if n := len(r.c.queues); n != 0 {
		t.Errorf("%d keys still busy after every call was answered", n)
	}
}

func TestCombinerPanicAnswersEveryCall(t *testing.T) {
	r := newCombineRig()
	first := r.start(t, "a", 0)
	bad := r.start(t, "a", -1)
	good := r.start(t, "a", 5) // same batch as -1
	close(r.hold)
	answer(t, first)
	for _, ch := range []<-chan outcome[int]{bad, good} {
		if o := answer(t, ch); o.err == nil || !strings.Contains(o.err.Error(), "panicked: boom") {
			t.Errorf("call in a panicking batch = %+v, want the panic as its error", o)
		}
	}
	if o := answer(t, r.start(t, "a", 3)); o.out != 30 || o.err != nil {
		t.Errorf("call after the panic = %+v, want 30 (the key is free again)", o)
	}
}
