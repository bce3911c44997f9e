package models

import "time"

// BudgetLimit is one row of budget_limits: the counters of a tenant/project
// budget. Used and reserved only change together with a BudgetTransaction row.
type BudgetLimit struct {
	TenantID   string    `gorm:"column:tenant_id;primaryKey"`
	ProjectID  string    `gorm:"column:project_id;primaryKey"`
	TotalLimit int64     `gorm:"column:total_limit"`
	Used       int64     `gorm:"column:used"`
	Reserved   int64     `gorm:"column:reserved"`
	UpdatedAt  time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

// TableName implements gorm's Tabler.
func (BudgetLimit) TableName() string { return "budget_limits" }

// BudgetReservation is one row of budget_reservations: tokens set aside for
// one model call until they are committed, released or expired.
type BudgetReservation struct {
	ID        string `gorm:"column:id;primaryKey"`
	TenantID  string `gorm:"column:tenant_id"`
	ProjectID string `gorm:"column:project_id"`
	TaskID    string `gorm:"column:task_id"`
	Model     string `gorm:"column:model"`
	Purpose   string `gorm:"column:purpose"`
	Tokens    int64  `gorm:"column:tokens"`
	// ActualTokens is set when the reservation is committed.
	ActualTokens *int64 `gorm:"column:actual_tokens"`
	Status       string `gorm:"column:status"`
	// IdempotencyKey is NULL for requests sent without a key; otherwise
	// "<PrincipalID>|<key>" (the key unscoped on rows older than principals).
	IdempotencyKey *string `gorm:"column:idempotency_key"`
	// PrincipalID is who reserved ("user:<id>"); NULL on older rows.
	PrincipalID *string    `gorm:"column:principal_id"`
	RequestHash string     `gorm:"column:request_hash"`
	CreatedBy   string     `gorm:"column:created_by"`
	CreatedAt   time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	ExpiresAt   time.Time  `gorm:"column:expires_at"`
	SettledAt   *time.Time `gorm:"column:settled_at"`
}

// TableName implements gorm's Tabler.
func (BudgetReservation) TableName() string { return "budget_reservations" }

// BudgetTransaction is one row of budget_transactions, the ledger: the sum of
// the deltas of a tenant/project equals its used and reserved counters.
type BudgetTransaction struct {
	ID            int64     `gorm:"column:id;primaryKey;autoIncrement"`
	ReservationID *string   `gorm:"column:reservation_id"`
	TenantID      string    `gorm:"column:tenant_id"`
	ProjectID     string    `gorm:"column:project_id"`
	Kind          string    `gorm:"column:kind"`
	DeltaReserved int64     `gorm:"column:delta_reserved"`
	DeltaUsed     int64     `gorm:"column:delta_used"`
	Actor         string    `gorm:"column:actor"`
	RequestID     string    `gorm:"column:request_id"`
	At            time.Time `gorm:"column:at"`
	// The model call a commit paid for, when the gateway made it: its
	// model, the tokens the provider reported and their price. NULL on
	// other rows.
	Model            *string  `gorm:"column:model"`
	PromptTokens     *int64   `gorm:"column:prompt_tokens"`
	CompletionTokens *int64   `gorm:"column:completion_tokens"`
	CostUSD          *float64 `gorm:"column:cost_usd"`
}

// TableName implements gorm's Tabler.
func (BudgetTransaction) TableName() string { return "budget_transactions" }
