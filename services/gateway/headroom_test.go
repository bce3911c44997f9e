package gateway

import (
	"strconv"
	"testing"
	"time"
)

// The view lets a call start early only when a reservation seen within
// headroomTTL left room for it and for every reservation still running.
func TestHeadroom(t *testing.T) {
	var h headroom
	k, other := headroomKey{"t", "p"}, headroomKey{"t", "q"}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

	if h.reserving(k, 100, now) {
		t.Fatal("early start on a budget never seen")
	}
	h.reserved(k, 100, 250, true, now) // 250 left after it
	if !h.reserving(k, 100, now) || !h.reserving(k, 100, now) {
		t.Fatal("two calls of 100 do not fit in 250")
	}
	if h.reserving(k, 100, now) { // 300 running > 250
		t.Fatal("a third call of 100 started early with 50 of the view left")
	}
	if h.reserving(other, 1, now) {
		t.Fatal("another budget's view was used")
	}
	for range 3 {
		h.reserved(k, 100, 0, false, now) // failed without saying what was left
	}
	if !h.reserving(k, 250, now.Add(headroomTTL-time.Millisecond)) {
		t.Fatal("the view's 250 not usable once nothing runs")
	}
	h.reserved(k, 250, 0, true, now) // a refusal said nothing is left
	if h.reserving(k, 1, now) {
		t.Fatal("early start after a refusal said nothing is left")
	}
	h.reserved(k, 1, 1000, true, now)
	if h.reserving(k, 1, now.Add(headroomTTL)) {
		t.Fatal("early start on a view older than headroomTTL")
	}
}

// Above maxHeadroomBudgets the idle, stale views are forgotten; views with
// a reservation running are kept.
func TestHeadroomForgetsIdleViews(t *testing.T) {
	var h headroom
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	busy := headroomKey{"t", "busy"}
	h.reserving(busy, 1, now)
	for i := range maxHeadroomBudgets {
		k := headroomKey{"t", strconv.Itoa(i)}
		h.reserving(k, 1, now)
		h.reserved(k, 1, 10, true, now)
	}
	h.reserving(headroomKey{"t", "new"}, 1, now.Add(headroomTTL))
	if len(h.budgets) != 2 || h.budgets[busy] == nil {
		t.Fatalf("%d views kept, busy kept %v; want the busy one and the new one", len(h.budgets), h.budgets[busy] != nil)
	}
}
