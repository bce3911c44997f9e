package budget

import (
	"context"

	"github.com/golden-architecture/control-plane/services/audit"
)

// ReserveBatch serves requests on one budget as one batch, as the combiner
// would when they arrive together, so tests can build a batch at will.
func (s *Service) ReserveBatch(ctx context.Context, actor audit.Actor, ins []RequestInput) ([]Approval, []error) {
	calls := make([]reserveCall, len(ins))
	for i, in := range ins {
		calls[i] = reserveCall{actor: actor, in: in, hash: in.hash()}
	}
	return split(s.reserveBatch(ctx, calls))
}

// SettleBatch settles reservations of one budget as one batch: a commit of
// actual tokens, or a release when actual is negative.
func (s *Service) SettleBatch(ctx context.Context, actor audit.Actor, tenant, project string, ids []string, actual []int64) ([]Settlement, []error) {
	reqs := make([]SettleReq, len(ids))
	for i, id := range ids {
		reqs[i] = SettleReq{TenantID: tenant, ProjectID: project, ReservationID: id, Actual: actual[i]}
	}
	return s.SettleCalls(ctx, actor, reqs)
}

// SettleReq is one call of SettleCalls: a commit of Actual tokens, or a
// release when Actual is negative.
type SettleReq struct {
	TenantID, ProjectID, ReservationID string
	Actual                             int64
}

// SettleCalls settles reservations of any budgets as one batch.
func (s *Service) SettleCalls(ctx context.Context, actor audit.Actor, reqs []SettleReq) ([]Settlement, []error) {
	calls := make([]settleCall, len(reqs))
	for i, r := range reqs {
		calls[i] = settleCall{actor: actor, tenant: r.TenantID, project: r.ProjectID, id: r.ReservationID, to: StatusCommitted, actual: r.Actual}
		if r.Actual < 0 {
			calls[i].to, calls[i].actual = StatusReleased, 0
		}
	}
	return split(s.settleBatch(ctx, calls))
}

// Hold makes both combiners busy, as if a batch of each kind were running:
// Request, Commit and Release calls made meanwhile queue. queued reports how
// many calls of each kind wait; release lets the first of each queue run the
// next batch, so the calls that queued are served together, in arrival order.
func (s *Service) Hold() (queued func() (reserve, settle int), release func()) {
	hold(s.reservations)
	hold(s.settlements)
	queued = func() (int, int) { return waiting(s.reservations), waiting(s.settlements) }
	release = func() {
		unhold(s.reservations)
		unhold(s.settlements)
	}
	return queued, release
}

func hold[In, Out any](c *combiner[In, Out]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy {
		panic("budget: Hold on a busy combiner")
	}
	c.busy = true
}

func waiting[In, Out any](c *combiner[In, Out]) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

func unhold[In, Out any](c *combiner[In, Out]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) > 0 {
		c.queue[0].wake <- struct{}{}
	} else {
		c.busy = false
	}
}

func split[Out any](res []outcome[Out]) ([]Out, []error) {
	outs, errs := make([]Out, len(res)), make([]error, len(res))
	for i, r := range res {
		outs[i], errs[i] = r.out, r.err
	}
	return outs, errs
}

// Alone reports whether Request and Commit/Release of one call run as one
// statement here (PostgreSQL) rather than as a transaction.
func (s *Service) Alone() bool { return s.pg }

// ReserveAlone runs in as a lone call's single statement: handled is false
// when the statement left the decision to the transaction.
func (s *Service) ReserveAlone(ctx context.Context, actor audit.Actor, in RequestInput) (Approval, bool, error) {
	return s.reserveAlone(ctx, reserveCall{actor: actor, in: in, hash: in.hash()})
}

// SettleAlone is ReserveAlone's twin for a commit of actual tokens, or a
// release when actual is negative.
func (s *Service) SettleAlone(ctx context.Context, actor audit.Actor, tenant, project, id string, actual int64, usage *Usage) (Settlement, bool, error) {
	c := settleCall{actor: actor, tenant: tenant, project: project, id: id, to: StatusCommitted, actual: actual, usage: usage}
	if actual < 0 {
		c.to, c.actual = StatusReleased, 0
	}
	return s.settleAlone(ctx, c)
}
