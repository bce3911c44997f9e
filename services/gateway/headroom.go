package gateway

import (
	"sync"
	"time"
)

// headroom is what this process knows of the room left in budgets, so that
// a call on a budget that clearly has room starts its provider call at
// once, beside its reservation, instead of after it: the provider's first
// token then does not wait for the database. Nothing reaches the client
// before the reservation is stored, and a refused reservation cancels the
// provider call, so the budget's rules do not depend on this view; only the
// cost of provider calls cancelled that way does.
//
// For each budget it keeps the tokens the last reservation made here left
// available, when, and the worst cases of the calls whose reservation is
// running. A call starts early when its worst case fits in what is left of
// that and the view is younger than headroomTTL. In one process the view
// is never more generous than the budget; a budget drained by another
// replica (or lowered by PUT /budget/limits) can refuse the calls started
// early on this process's view in the meantime, and the refusal closes the
// view until a reservation is approved again.
type headroom struct {
	mu      sync.Mutex
	budgets map[headroomKey]*room
}

type headroomKey struct{ tenant, project string }

type room struct {
	available int64     // left by the last reservation seen here
	seen      time.Time // when it was seen
	running   int64     // worst cases of the reservations running here
}

// headroomTTL is how long a budget's view is trusted.
const headroomTTL = 2 * time.Second

// maxHeadroomBudgets bounds the view; above it, idle views are forgotten.
const maxHeadroomBudgets = 10_000

// reserving counts a reservation of tokens on k as running, and reports
// whether the view had room for it (the call may start early).
func (h *headroom) reserving(k headroomKey, tokens int64, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.budgets == nil {
		h.budgets = map[headroomKey]*room{}
	}
	r := h.budgets[k]
	if r == nil {
		if len(h.budgets) >= maxHeadroomBudgets {
			h.forgetIdle(now)
		}
		r = &room{}
		h.budgets[k] = r
	}
	early := !r.seen.IsZero() && now.Sub(r.seen) < headroomTTL && r.running+tokens <= r.available
	r.running += tokens
	return early
}

// reserved ends a reservation counted by reserving; available is what the
// budget had left after it (known is false when the reservation failed
// without saying).
func (h *headroom) reserved(k headroomKey, tokens, available int64, known bool, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.budgets[k]
	if r == nil {
		return // forgotten meanwhile
	}
	r.running -= tokens
	if known {
		r.available, r.seen = available, now
	}
}

// forgetIdle drops the views with no running reservation that are too old
// to be used.
func (h *headroom) forgetIdle(now time.Time) {
	for k, r := range h.budgets {
		if r.running == 0 && now.Sub(r.seen) >= headroomTTL {
			delete(h.budgets, k)
		}
	}
}
