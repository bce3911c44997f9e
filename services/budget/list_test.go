package budget_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/golden-architecture/control-plane/services/budget"
)

func TestList(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var want []string // newest first
	for i := range 7 {
		in := req(int64(10 + i))
		if i%2 == 1 {
			in.ProjectID = "p2"
		}
		a := f.request(t, in)
		want = append([]string{a.ReservationID}, want...)
		if i%3 != 0 {
			f.clock.Advance(time.Second) // some share a created_at: the id breaks the tie
		}
	}
	if _, err := f.svc.Release(ctx, operator, budget.ReleaseInput{TenantID: "t1", ProjectID: "p1", ReservationID: want[0]}); err != nil {
		t.Fatal(err)
	}

	t.Run("pages newest first", func(t *testing.T) {
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			p, err := f.svc.List(ctx, budget.ListFilter{Cursor: cursor, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Items {
				got = append(got, r.ID)
			}
			if p.NextCursor == "" {
				if pages != 2 {
					t.Errorf("pages = %d, want 3", pages+1)
				}
				break
			}
			cursor = p.NextCursor
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ids (-want +got):\n%s", diff)
		}
	})
	t.Run("filters", func(t *testing.T) {
		tests := []struct {
			f    budget.ListFilter
			want []string
		}{
			{budget.ListFilter{ProjectID: "p2"}, []string{want[1], want[3], want[5]}},
			{budget.ListFilter{TenantID: "t1", ProjectID: "p1", Status: budget.StatusPending}, []string{want[2], want[4], want[6]}},
			{budget.ListFilter{Status: budget.StatusReleased}, []string{want[0]}},
			{budget.ListFilter{TenantID: "nobody"}, nil},
		}
		for _, tt := range tests {
			p, err := f.svc.List(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range p.Items {
				got = append(got, r.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" || p.NextCursor != "" {
				t.Errorf("List(%+v) (-want +got):\n%s next %q", tt.f, diff, p.NextCursor)
			}
		}
	})
}
