package handlers

import (
	"time"

	"github.com/golden-architecture/control-plane/services/budget"
	"github.com/golden-architecture/control-plane/services/cursor"
)

// BudgetRequestBody is the body of POST /api/v1/budget/request.
type BudgetRequestBody struct {
	// TenantID is required for a platform principal; a caller bound to a
	// tenant may omit it (its own tenant) or name its own.
	TenantID  string `json:"tenant_id,omitempty" binding:"omitempty,ident,max=128,printascii" maxLength:"128" example:"acme"`
	ProjectID string `json:"project_id" binding:"required,ident,max=128,printascii" minLength:"1" maxLength:"128" example:"support-bot"`
	TaskID    string `json:"task_id" binding:"required,ident,max=128,printascii" minLength:"1" maxLength:"128" example:"task-42"`
	Model     string `json:"model" binding:"required,ident,max=128,printascii" minLength:"1" maxLength:"128" example:"gpt-4o"`
	// EstimatedTokens is reserved whole: a whole number from 1 to 1,000,000,000.
	EstimatedTokens int64  `json:"estimated_tokens" binding:"required,min=1,max=1000000000" minimum:"1" maximum:"1000000000" example:"1500"`
	Purpose         string `json:"purpose,omitempty" binding:"max=256,printascii" maxLength:"256" example:"answer synthesis"`
	// RequestID is accepted as the idempotency key when no Idempotency-Key header is sent.
	RequestID string `json:"request_id,omitempty" binding:"omitempty,ident,max=128,printascii" maxLength:"128" example:"req-7f3a"`
} // @name BudgetRequest

// BudgetApproval is the answer of an approved reservation (also of its replays).
type BudgetApproval struct {
	Approved      bool      `json:"approved" example:"true"`
	ReservationID string    `json:"reservation_id" format:"uuid" example:"01963b4e-8a2c-7d41-9b1e-3f6a2c8d9e10"`
	Allocated     int64     `json:"allocated" example:"1500"`
	ExpiresAt     time.Time `json:"expires_at" example:"2026-01-02T16:04:05.123456Z" format:"date-time"`
} // @name BudgetApproval

// BudgetCommitBody is the body of POST /api/v1/budget/commit.
type BudgetCommitBody struct {
	// TenantID is required for a platform principal; a caller bound to a
	// tenant may omit it (its own tenant) or name its own.
	TenantID      string `json:"tenant_id,omitempty" binding:"omitempty,ident,max=128,printascii" maxLength:"128" example:"acme"`
	ProjectID     string `json:"project_id" binding:"required,ident,max=128,printascii" minLength:"1" maxLength:"128" example:"support-bot"`
	ReservationID string `json:"reservation_id" binding:"required,ident,max=128,printascii" maxLength:"128" format:"uuid" example:"01963b4e-8a2c-7d41-9b1e-3f6a2c8d9e10"`
	// ActualTokens is what the call really used; it may exceed the estimate
	// up to estimated_tokens × BUDGET_COMMIT_MAX_RATIO.
	ActualTokens int64 `json:"actual_tokens" binding:"required,min=1,max=1000000000" minimum:"1" maximum:"1000000000" example:"1320"`
} // @name BudgetCommit

// BudgetReleaseBody is the body of POST /api/v1/budget/release.
type BudgetReleaseBody struct {
	// TenantID is required for a platform principal; a caller bound to a
	// tenant may omit it (its own tenant) or name its own.
	TenantID      string `json:"tenant_id,omitempty" binding:"omitempty,ident,max=128,printascii" maxLength:"128" example:"acme"`
	ProjectID     string `json:"project_id" binding:"required,ident,max=128,printascii" minLength:"1" maxLength:"128" example:"support-bot"`
	ReservationID string `json:"reservation_id" binding:"required,ident,max=128,printascii" maxLength:"128" format:"uuid" example:"01963b4e-8a2c-7d41-9b1e-3f6a2c8d9e10"`
} // @name BudgetRelease

// BudgetSettlement is the answer of a commit or a release.
type BudgetSettlement struct {
	Status        string `json:"status" enums:"committed,released" example:"committed"`
	ReservationID string `json:"reservation_id" format:"uuid" example:"01963b4e-8a2c-7d41-9b1e-3f6a2c8d9e10"`
	// Tokens is the actual tokens of a commit, or the reserved tokens a release returned.
	Tokens int64 `json:"tokens" example:"1320"`
} // @name BudgetSettlement

// BudgetLimitBody is the body of PUT /api/v1/budget/limits.
type BudgetLimitBody struct {
	// TenantID is required for a platform principal; a caller bound to a
	// tenant may omit it (its own tenant) or name its own.
	TenantID  string `json:"tenant_id,omitempty" binding:"omitempty,ident,max=128,printascii" maxLength:"128" example:"acme"`
	ProjectID string `json:"project_id" binding:"required,ident,max=128,printascii" minLength:"1" maxLength:"128" example:"support-bot"`
	// TotalLimit may be 0 (a frozen budget) and may be below used+reserved.
	TotalLimit *int64 `json:"total_limit" binding:"required,min=0,max=1000000000000" minimum:"0" maximum:"1000000000000" example:"250000"`
} // @name BudgetLimit

// BudgetState is the picture of one budget.
type BudgetState struct {
	TenantID  string `json:"tenant_id" example:"acme"`
	ProjectID string `json:"project_id" example:"support-bot"`
	Total     int64  `json:"total" example:"100000"`
	Used      int64  `json:"used" example:"42000"`
	Reserved  int64  `json:"reserved" example:"3000"`
	// Available is total - used - reserved, never below 0.
	Available int64 `json:"available" example:"55000" minimum:"0"`
	// Overdrawn is how far used + reserved exceed total (after a commit above
	// its estimate or a lowered limit); 0 normally.
	Overdrawn           int64 `json:"overdrawn" example:"0" minimum:"0"`
	PendingReservations int64 `json:"pending_reservations" example:"2" minimum:"0"`
} // @name BudgetState

// BudgetReservation is one reservation in a listing.
type BudgetReservation struct {
	ID             string     `json:"id" format:"uuid" example:"01963b4e-8a2c-7d41-9b1e-3f6a2c8d9e10"`
	TenantID       string     `json:"tenant_id" example:"acme"`
	ProjectID      string     `json:"project_id" example:"support-bot"`
	TaskID         string     `json:"task_id" example:"task-42"`
	Model          string     `json:"model" example:"gpt-4o"`
	Purpose        string     `json:"purpose" example:"answer synthesis"`
	Tokens         int64      `json:"tokens" example:"1500"`
	ActualTokens   *int64     `json:"actual_tokens" example:"1320" extensions:"x-nullable"`
	Status         string     `json:"status" enums:"pending,committed,released,expired" example:"committed"`
	IdempotencyKey *string    `json:"idempotency_key" example:"req-7f3a" extensions:"x-nullable"`
	CreatedBy      string     `json:"created_by" example:"operator"`
	CreatedAt      time.Time  `json:"created_at" example:"2026-01-02T15:04:05.123456Z" format:"date-time"`
	ExpiresAt      time.Time  `json:"expires_at" example:"2026-01-02T16:04:05.123456Z" format:"date-time"`
	SettledAt      *time.Time `json:"settled_at" example:"2026-01-02T15:04:09.5Z" format:"date-time" extensions:"x-nullable"`
	// PrincipalID is who reserved ("user:<id>"); null on reservations made
	// before principals were recorded.
	PrincipalID *string `json:"principal_id" example:"user:0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11" extensions:"x-nullable"`
} // @name Reservation

// BudgetReservationList is a page of reservations, newest first.
type BudgetReservationList struct {
	Items []BudgetReservation `json:"items"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"next_cursor" example:"eyJ0IjoiMjAyNi0wMS0wMlQxNTowNDowNVoiLCJpZCI6Ii4uLiJ9" extensions:"x-nullable"`
} // @name ReservationList

// budgetStateQuery is the query of GET /budget/state.
type budgetStateQuery struct {
	TenantID  string `form:"tenant_id" binding:"omitempty,ident,max=128,printascii"`
	ProjectID string `form:"project_id" binding:"required,ident,max=128,printascii"`
}

// budgetListQuery is the query of GET /budget/reservations.
type budgetListQuery struct {
	TenantID  string `form:"tenant_id" binding:"omitempty,ident,max=128,printascii"`
	ProjectID string `form:"project_id" binding:"omitempty,ident,max=128,printascii"`
	Status    string `form:"status" binding:"omitempty,oneof=pending committed released expired"`
	Limit     int    `form:"limit" binding:"omitempty,min=1"`
	Cursor    string `form:"cursor" binding:"omitempty,ident,max=512"`
}

func budgetApproval(a budget.Approval) BudgetApproval {
	return BudgetApproval{Approved: true, ReservationID: a.ReservationID, Allocated: a.Allocated, ExpiresAt: a.ExpiresAt.UTC()}
}

func budgetSettlement(s budget.Settlement) BudgetSettlement {
	return BudgetSettlement{Status: string(s.Status), ReservationID: s.ReservationID, Tokens: s.Tokens}
}

func budgetState(s budget.State) BudgetState {
	return BudgetState{
		TenantID: s.TenantID, ProjectID: s.ProjectID, Total: s.Total, Used: s.Used, Reserved: s.Reserved,
		Available: s.Available, Overdrawn: s.Overdrawn, PendingReservations: s.PendingReservations,
	}
}

func budgetReservationList(p cursor.Page[budget.Reservation]) BudgetReservationList {
	out := BudgetReservationList{Items: make([]BudgetReservation, len(p.Items)), NextCursor: nextCursor(p.NextCursor)}
	for i, r := range p.Items {
		out.Items[i] = BudgetReservation{
			ID: r.ID, TenantID: r.TenantID, ProjectID: r.ProjectID, TaskID: r.TaskID, Model: r.Model, Purpose: r.Purpose,
			Tokens: r.Tokens, ActualTokens: r.ActualTokens, Status: string(r.Status), IdempotencyKey: r.IdempotencyKey,
			CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, SettledAt: r.SettledAt,
		}
		if r.PrincipalID != "" {
			out.Items[i].PrincipalID = &r.PrincipalID
		}
	}
	return out
}
