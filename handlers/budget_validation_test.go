package handlers_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// TestBudgetValidation sends malformed input to every budget route: 422 with
// the offending field (400 for malformed JSON), and nothing stored.
func TestBudgetValidation(t *testing.T) {
	s := newBudgetServer(t)
	long := strings.Repeat("x", 129)
	reqBody := func(field string, v any) string {
		b := `{"tenant_id":"acme","project_id":"p1","task_id":"t","model":"m","estimated_tokens":10}`
		if v == nil {
			return strings.Replace(b, `"`+field+`":`, `"ignored_`+field+`":`, 1)
		}
		return strings.Replace(b, `}`, `,"`+field+`":`+v.(string)+`}`, 1)
	}
	commitBody := func(actual string) string {
		return `{"tenant_id":"acme","project_id":"p1","reservation_id":"00000000-0000-4000-8000-000000000000","actual_tokens":` + actual + `}`
	}
	limitBody := func(total string) string {
		return `{"tenant_id":"acme","project_id":"p1"` + total + `}`
	}
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		header map[string]string
		status int
		field  string
	}{
		{"estimated_tokens 0", "POST", "/api/v1/budget/request", reqBody("estimated_tokens", "0"), nil, 422, "estimated_tokens"},
		{"estimated_tokens negative", "POST", "/api/v1/budget/request", reqBody("estimated_tokens", "-1"), nil, 422, "estimated_tokens"},
		{"estimated_tokens fraction", "POST", "/api/v1/budget/request", reqBody("estimated_tokens", "1.5"), nil, 422, "estimated_tokens"},
		{"estimated_tokens string", "POST", "/api/v1/budget/request", reqBody("estimated_tokens", `"100"`), nil, 422, "estimated_tokens"},
		{"estimated_tokens above 1e9", "POST", "/api/v1/budget/request", reqBody("estimated_tokens", "1000000001"), nil, 422, "estimated_tokens"},
		{"estimated_tokens overflow", "POST", "/api/v1/budget/request", reqBody("estimated_tokens", "99999999999999999999"), nil, 422, "estimated_tokens"},
		{"estimated_tokens missing", "POST", "/api/v1/budget/request", reqBody("estimated_tokens", nil), nil, 422, "estimated_tokens"},
		{"tenant_id missing", "POST", "/api/v1/budget/request", reqBody("tenant_id", nil), nil, 422, "tenant_id"},
		{"tenant_id too long", "POST", "/api/v1/budget/request", reqBody("tenant_id", `"`+long+`"`), nil, 422, "tenant_id"},
		{"model not printable", "POST", "/api/v1/budget/request", reqBody("model", `"a\u0007b"`), nil, 422, "model"},
		{"task_id not a string", "POST", "/api/v1/budget/request", reqBody("task_id", `7`), nil, 422, "task_id"},
		{"purpose too long", "POST", "/api/v1/budget/request", reqBody("purpose", `"`+strings.Repeat("p", 257)+`"`), nil, 422, "purpose"},
		{"Idempotency-Key too long", "POST", "/api/v1/budget/request", reqBody("purpose", `""`), map[string]string{"Idempotency-Key": long}, 422, "Idempotency-Key"},
		{"malformed JSON", "POST", "/api/v1/budget/request", `{"tenant_id":`, nil, 400, ""},
		{"actual_tokens 0", "POST", "/api/v1/budget/commit", commitBody("0"), nil, 422, "actual_tokens"},
		{"actual_tokens fraction", "POST", "/api/v1/budget/commit", commitBody("2.5"), nil, 422, "actual_tokens"},
		{"actual_tokens string", "POST", "/api/v1/budget/commit", commitBody(`"5"`), nil, 422, "actual_tokens"},
		{"reservation_id missing", "POST", "/api/v1/budget/release", `{"tenant_id":"acme","project_id":"p1"}`, nil, 422, "reservation_id"},
		{"total_limit missing", "PUT", "/api/v1/budget/limits", limitBody(""), nil, 422, "total_limit"},
		{"total_limit negative", "PUT", "/api/v1/budget/limits", limitBody(`,"total_limit":-1`), nil, 422, "total_limit"},
		{"total_limit too large", "PUT", "/api/v1/budget/limits", limitBody(`,"total_limit":1000000000001`), nil, 422, "total_limit"},
		{"total_limit fraction", "PUT", "/api/v1/budget/limits", limitBody(`,"total_limit":0.5`), nil, 422, "total_limit"},
		{"state without project", "GET", "/api/v1/budget/state?tenant_id=acme", "", nil, 422, "project_id"},
		{"state with a long tenant", "GET", "/api/v1/budget/state?project_id=p&tenant_id=" + long, "", nil, 422, "tenant_id"},
		{"list with a bad status", "GET", "/api/v1/budget/reservations?status=done", "", nil, 422, "status"},
		{"list with a bad limit", "GET", "/api/v1/budget/reservations?limit=-1", "", nil, 422, "limit"},
		{"list with a bad cursor", "GET", "/api/v1/budget/reservations?cursor=%21%21", "", nil, 422, "cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := testenv.Request{Method: tt.method, Path: tt.path, Token: s.admin, Header: tt.header}
			if tt.body != "" {
				req.Body = tt.body
			}
			r := s.Send(t, req)
			if tt.status == http.StatusBadRequest {
				r.WantError(t, http.StatusBadRequest, "validation.invalid_request")
				return
			}
			e := r.WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
			var fields []string
			list, _ := e.Details["errors"].([]any)
			for _, fe := range list {
				m, _ := fe.(map[string]any)
				f, _ := m["field"].(string)
				fields = append(fields, f)
			}
			if !slices.Contains(fields, tt.field) {
				t.Errorf("fields %v do not name %s; body %s", fields, tt.field, r.Body)
			}
		})
	}
	for _, table := range []string{"budget_limits", "budget_reservations", "budget_transactions"} {
		if n := budgetCountRows(t, s.App.DB().DB, table, "1 = 1"); n != 0 {
			t.Errorf("%s has %d rows after invalid requests", table, n)
		}
	}
}
