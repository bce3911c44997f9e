package budget

import "context"

// ExpireBatch runs one sweep batch of at most limit reservations, as Expire
// does repeatedly, so tests can see the bound of a batch.
func (s *Service) ExpireBatch(ctx context.Context, limit int) (expired int, more bool, err error) {
	return s.expireBatch(ctx, s.now(), limit)
}
