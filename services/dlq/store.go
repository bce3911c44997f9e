package dlq

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/golden-architecture/control-plane/models"
)

// stored is the outcome of insertRows.
type stored struct {
	// inserted is how many rows were new.
	inserted int64
	// reused holds the stream sequences already stored for a different
	// message (another stream timestamp): the stream was deleted and
	// recreated, so its sequence numbers started again at 1.
	reused map[int64]bool
}

// insertRows stores rows in one transaction; a row whose stream_seq is already
// stored is skipped. Skipped rows are told apart: the same message delivered
// again (same stream timestamp) is fine, a reused sequence is reported.
func insertRows(ctx context.Context, db *gorm.DB, rows []models.DLQMessage) (stored, error) {
	var out stored
	if len(rows) == 0 {
		return out, nil
	}
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "stream_seq"}},
			DoNothing: true,
		}).Create(&rows)
		if res.Error != nil {
			return res.Error
		}
		out.inserted = res.RowsAffected
		if out.inserted == int64(len(rows)) {
			return nil
		}
		reused, err := reusedSeqs(tx, rows)
		out.reused = reused
		return err
	})
	if err != nil {
		return stored{}, fmt.Errorf("store %d DLQ messages: %w", len(rows), err)
	}
	return out, nil
}

// reusedSeqs finds the rows that were skipped although the stored row with
// their sequence is another message.
func reusedSeqs(tx *gorm.DB, rows []models.DLQMessage) (map[int64]bool, error) {
	seqs := make([]int64, 0, len(rows))
	for _, r := range rows {
		seqs = append(seqs, r.StreamSeq)
	}
	var existing []struct {
		ID        string
		StreamSeq int64
		CreatedAt time.Time
	}
	if err := tx.Model(&models.DLQMessage{}).Select("id, stream_seq, created_at").
		Where("stream_seq IN ?", seqs).Find(&existing).Error; err != nil {
		return nil, fmt.Errorf("check skipped DLQ messages: %w", err)
	}
	bySeq := make(map[int64]models.DLQMessage, len(rows))
	for _, r := range rows {
		bySeq[r.StreamSeq] = r
	}
	var reused map[int64]bool
	for _, e := range existing {
		r := bySeq[e.StreamSeq]
		if e.ID == r.ID || e.CreatedAt.Equal(r.CreatedAt) {
			continue // inserted now, or the same message delivered again
		}
		if reused == nil {
			reused = map[int64]bool{}
		}
		reused[e.StreamSeq] = true
	}
	return reused, nil
}

// countUnresolved counts unresolved rows (a partial index covers it).
func countUnresolved(ctx context.Context, db *gorm.DB) (int64, error) {
	var n int64
	if err := db.WithContext(ctx).Model(&models.DLQMessage{}).Where("NOT resolved").Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count unresolved DLQ messages: %w", err)
	}
	return n, nil
}
