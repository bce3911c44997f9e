package models

import "time"

// DLQMessage is one row of dlq_messages: a message that failed processing
// elsewhere, copied out of the DLQ stream so operators can inspect, resolve
// and requeue it after the stream has aged it out. StreamSeq is unique, which
// is what makes ingest exactly-once across redeliveries and replicas.
type DLQMessage struct {
	ID              string     `gorm:"column:id;primaryKey"`
	StreamSeq       int64      `gorm:"column:stream_seq"`
	OriginalSubject string     `gorm:"column:original_subject"`
	Data            []byte     `gorm:"column:data"`
	Headers         JSONMap    `gorm:"column:headers"`
	Error           string     `gorm:"column:error"`
	ErrorCount      int        `gorm:"column:error_count"`
	CreatedAt       time.Time  `gorm:"column:created_at"`
	Resolved        bool       `gorm:"column:resolved"`
	ResolvedAt      *time.Time `gorm:"column:resolved_at"`
	ResolvedBy      *string    `gorm:"column:resolved_by"`
	ResolutionNotes *string    `gorm:"column:resolution_notes"`
	RequeuedAt      *time.Time `gorm:"column:requeued_at"`
	RequeueCount    int        `gorm:"column:requeue_count"`
	// ClaimToken and ClaimExpiresAt mark a resolve that is publishing right
	// now, so a second resolve (on any replica) cannot publish the same
	// message again meanwhile; an expired claim is free again.
	ClaimToken     *string    `gorm:"column:claim_token"`
	ClaimExpiresAt *time.Time `gorm:"column:claim_expires_at"`
}

// TableName implements gorm's Tabler.
func (DLQMessage) TableName() string { return "dlq_messages" }
