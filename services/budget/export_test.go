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
	calls := make([]settleCall, len(ids))
	for i, id := range ids {
		calls[i] = settleCall{actor: actor, tenant: tenant, project: project, id: id, to: StatusCommitted, actual: actual[i]}
		if actual[i] < 0 {
			calls[i].to, calls[i].actual = StatusReleased, 0
		}
	}
	return split(s.settleBatch(ctx, calls))
}

func split[Out any](res []outcome[Out]) ([]Out, []error) {
	outs, errs := make([]Out, len(res)), make([]error, len(res))
	for i, r := range res {
		outs[i], errs[i] = r.out, r.err
	}
	return outs, errs
}
