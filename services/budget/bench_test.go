package budget_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/golden-architecture/control-plane/services/budget"
)

// BenchmarkRequestCommit measures full request+commit cycles (two
// transactions, each with its ledger row and audit entry) from 8 goroutines
// per CPU: on one hot budget, where every cycle updates the same
// budget_limits row, and spread over 100 budgets. It runs on PostgreSQL when
// TEST_DATABASE_URL is set, on SQLite otherwise:
//
//	go test -run '^$' -bench RequestCommit -benchtime 2000x ./services/budget/
//	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable go test -run '^$' -bench RequestCommit -benchtime 2000x ./services/budget/
func BenchmarkRequestCommit(b *testing.B) {
	for _, budgets := range []int{1, 100} {
		name := "hot"
		if budgets > 1 {
			name = fmt.Sprintf("spread%d", budgets)
		}
		b.Run(name, func(b *testing.B) {
			f := newFixture(b)
			ctx := context.Background()
			for i := range budgets {
				if _, err := f.svc.SetLimit(ctx, admin, "bench", fmt.Sprint("p", i), budget.MaxLimit); err != nil {
					b.Fatal(err)
				}
			}
			var next atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := next.Add(1)
					project := fmt.Sprint("p", n%int64(budgets))
					a, err := f.svc.Request(ctx, operator, budget.RequestInput{
						TenantID: "bench", ProjectID: project, TaskID: fmt.Sprint("t", n), Model: "m", EstimatedTokens: 1000,
					})
					if err != nil {
						b.Error(err)
						return
					}
					if _, err := f.svc.Commit(ctx, operator, budget.CommitInput{
						TenantID: "bench", ProjectID: project, ReservationID: a.ReservationID, ActualTokens: 900,
					}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cycles/s")
		})
	}
}
