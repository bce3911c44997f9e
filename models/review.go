package models

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"
)

// Review is one row of reviews: a peer review session of a task, decided by
// the weighted votes of the agents it invited.
type Review struct {
	ID             string        `gorm:"column:id;primaryKey"`
	TenantID       string        `gorm:"column:tenant_id"`
	TaskID         string        `gorm:"column:task_id"`
	Quorum         float64       `gorm:"column:quorum"`
	Invited        ReviewInvites `gorm:"column:invited"`
	TotalWeight    float64       `gorm:"column:total_weight"`
	Status         string        `gorm:"column:status"`
	ConsensusScore *float64      `gorm:"column:consensus_score"`
	EscalationID   *string       `gorm:"column:escalation_id"`
	CreatedBy      string        `gorm:"column:created_by"`
	CreatedAt      time.Time     `gorm:"column:created_at;autoCreateTime:false"`
	DecidedAt      *time.Time    `gorm:"column:decided_at"`
}

// TableName implements gorm's Tabler.
func (Review) TableName() string { return "reviews" }

// ReviewInvite is one agent invited to a review, with its weight.
type ReviewInvite struct {
	AgentID string  `json:"agent_id"`
	Weight  float64 `json:"weight"`
}

// ReviewInvites is the invited column: a JSON array (jsonb on PostgreSQL,
// TEXT on SQLite).
type ReviewInvites []ReviewInvite

// Value implements driver.Valuer.
func (v ReviewInvites) Value() (driver.Value, error) {
	if v == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]ReviewInvite(v))
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// Scan implements sql.Scanner.
func (v *ReviewInvites) Scan(src any) error {
	var b []byte
	switch s := src.(type) {
	case nil:
		*v = ReviewInvites{}
		return nil
	case []byte:
		b = s
	case string:
		b = []byte(s)
	default:
		return fmt.Errorf("models: cannot scan %T into ReviewInvites", src)
	}
	return json.Unmarshal(b, (*[]ReviewInvite)(v))
}

// ReviewVote is one row of review_votes: an invited agent's vote. The
// primary key (review_id, agent_id) allows one vote per agent.
type ReviewVote struct {
	ReviewID   string    `gorm:"column:review_id;primaryKey"`
	AgentID    string    `gorm:"column:agent_id;primaryKey"`
	TenantID   string    `gorm:"column:tenant_id"`
	Weight     float64   `gorm:"column:weight"`
	Vote       string    `gorm:"column:vote"`
	Reasoning  string    `gorm:"column:reasoning"`
	Confidence *float64  `gorm:"column:confidence"`
	LLMCheck   *JSONMap  `gorm:"column:llm_check"`
	CreatedBy  string    `gorm:"column:created_by"`
	CreatedAt  time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

// TableName implements gorm's Tabler.
func (ReviewVote) TableName() string { return "review_votes" }
