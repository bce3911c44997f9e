package models

import "time"

// LLMCall is one row of llm_calls: a call through the LLM gateway, its
// reservation, the usage the provider reported and its cost. Response holds
// the answer of a succeeded call sent with an idempotency key, so a retry is
// answered without calling the provider again.
type LLMCall struct {
	ID               string     `gorm:"column:id;primaryKey"`
	TenantID         string     `gorm:"column:tenant_id"`
	ProjectID        string     `gorm:"column:project_id"`
	PrincipalID      string     `gorm:"column:principal_id"`
	IdempotencyKey   *string    `gorm:"column:idempotency_key"`
	RequestHash      string     `gorm:"column:request_hash"`
	Model            string     `gorm:"column:model"`
	Provider         string     `gorm:"column:provider"`
	Stream           bool       `gorm:"column:stream"`
	Status           string     `gorm:"column:status"`
	ReservationID    *string    `gorm:"column:reservation_id"`
	EstimatedTokens  int64      `gorm:"column:estimated_tokens"`
	PromptTokens     int64      `gorm:"column:prompt_tokens"`
	CompletionTokens int64      `gorm:"column:completion_tokens"`
	CostUSD          float64    `gorm:"column:cost_usd"`
	Error            string     `gorm:"column:error"`
	Response         *string    `gorm:"column:response"`
	RequestID        string     `gorm:"column:request_id"`
	CreatedAt        time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	FinishedAt       *time.Time `gorm:"column:finished_at"`
}

// TableName implements gorm's Tabler.
func (LLMCall) TableName() string { return "llm_calls" }
