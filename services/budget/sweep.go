package budget

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
)

// sweepBatch bounds how many due reservations one query of Expire reads.
const sweepBatch = 100

// Expire returns every pending reservation whose expires_at has passed to
// its budget and marks it expired, each in its own transaction with its
// ledger row. Every replica may run it at the same time: the conditional
// status change lets exactly one of them (or a concurrent commit or release)
// settle each reservation. It reports how many this call expired.
func (s *Service) Expire(ctx context.Context) (int, error) {
	now := s.now()
	expired := 0
	for {
		var due []models.BudgetReservation
		err := s.db.WithContext(ctx).
			Select("id", "tenant_id", "project_id", "tokens").
			Where("status = ? AND expires_at <= ?", string(StatusPending), now).
			Order("expires_at").Limit(sweepBatch).Find(&due).Error
		if err != nil {
			return expired, fmt.Errorf("budget: find expired reservations: %w", err)
		}
		for _, r := range due {
			won, err := s.expireOne(ctx, r, now)
			if err != nil {
				return expired, err
			}
			if won {
				expired++
				s.metrics.expired.Inc()
			}
		}
		// Every row read was pending and is not any more (this call or
		// another settled it), so the loop ends.
		if len(due) < sweepBatch {
			return expired, nil
		}
	}
}

func (s *Service) expireOne(ctx context.Context, r models.BudgetReservation, now time.Time) (bool, error) {
	won := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if won, err = transition(tx, r.ID, StatusExpired, 0, now); err != nil || !won {
			return err
		}
		id := r.ID
		if err := writeLedger(tx, ledgerRow(&id, r.TenantID, r.ProjectID, kindExpire, -r.Tokens, 0, audit.Actor{Username: sweeperActor}, now)); err != nil {
			return err
		}
		return moveFromReserved(tx, r.TenantID, r.ProjectID, r.Tokens, 0, now)
	})
	if err != nil {
		return false, err
	}
	return won, nil
}

// Sweeper is the background worker that runs Expire every interval until ctx
// ends. Failures are logged and retried at the next tick.
func (s *Service) Sweeper(interval time.Duration, log *slog.Logger) func(ctx context.Context) {
	return func(ctx context.Context) {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
			n, err := s.Expire(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				log.WarnContext(ctx, "budget sweeper", slog.Any("error", err), slog.Int("expired", n))
			case n > 0:
				log.InfoContext(ctx, "budget reservations expired", slog.Int("count", n))
			}
		}
	}
}
