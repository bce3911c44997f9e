package budget_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/services/budget"
	"github.com/golden-architecture/control-plane/services/errs"
)

func TestValidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	long := strings.Repeat("x", 129)
	tests := []struct {
		name   string
		call   func() error
		fields []string
	}{
		{"request with nothing", func() error {
			_, err := f.svc.Request(ctx, operator, budget.RequestInput{})
			return err
		}, []string{"tenant_id", "project_id", "task_id", "model", "estimated_tokens"}},
		{"request with long, unprintable and out-of-range values", func() error {
			_, err := f.svc.Request(ctx, operator, budget.RequestInput{TenantID: long, ProjectID: "p\n", TaskID: "ok", Model: "m",
				Purpose: strings.Repeat("p", 257), EstimatedTokens: budget.MaxTokens + 1, IdempotencyKey: "k\x00"})
			return err
		}, []string{"tenant_id", "project_id", "purpose", "estimated_tokens", "Idempotency-Key"}},
		{"request with negative tokens", func() error {
			_, err := f.svc.Request(ctx, operator, req(-5))
			return err
		}, []string{"estimated_tokens"}},
		{"commit with zero tokens", func() error {
			_, err := f.svc.Commit(ctx, operator, budget.CommitInput{TenantID: "t", ProjectID: "p", ReservationID: "r"})
			return err
		}, []string{"actual_tokens"}},
		{"release without ids", func() error {
			_, err := f.svc.Release(ctx, operator, budget.ReleaseInput{})
			return err
		}, []string{"tenant_id", "project_id", "reservation_id"}},
		{"state without ids", func() error {
			_, err := f.svc.State(ctx, "", long)
			return err
		}, []string{"tenant_id", "project_id"}},
		{"negative limit", func() error {
			_, err := f.svc.SetLimit(ctx, admin, "t", "p", -1)
			return err
		}, []string{"total_limit"}},
		{"limit too large", func() error {
			_, err := f.svc.SetLimit(ctx, admin, "t", "p", budget.MaxLimit+1)
			return err
		}, []string{"total_limit"}},
		{"list with a bad status", func() error {
			_, err := f.svc.List(ctx, budget.ListFilter{Status: "done"})
			return err
		}, []string{"status"}},
		{"list with a forged cursor", func() error {
			_, err := f.svc.List(ctx, budget.ListFilter{Cursor: "eyJ0IjoiMjAyNi0wMS0wMlQxNTowNDowNVoiLCJpZCI6IngifQ"})
			return err
		}, []string{"cursor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := wantCode(t, tt.call(), errs.CodeUnprocessable)
			var got []string
			for _, fe := range e.Details["errors"].([]errs.FieldError) {
				got = append(got, fe.Field)
			}
			if diff := cmp.Diff(tt.fields, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}
