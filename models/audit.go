package models

import "time"

// AuditEntry is one row of audit_log: who did what to which resource.
type AuditEntry struct {
	ID     int64  `gorm:"primaryKey;autoIncrement"`
	UserID string `gorm:"column:user_id"`
	Role   string `gorm:"column:role"`
	// PrincipalID is "user:<id>" (or another kind of credential); TenantID
	// the tenant the principal acted in, "" for a platform principal.
	PrincipalID  string    `gorm:"column:principal_id"`
	TenantID     string    `gorm:"column:tenant_id"`
	Action       string    `gorm:"column:action"`
	ResourceType string    `gorm:"column:resource_type"`
	ResourceID   string    `gorm:"column:resource_id"`
	Details      JSONMap   `gorm:"column:details"`
	RequestID    string    `gorm:"column:request_id"`
	ClientIP     string    `gorm:"column:client_ip"`
	CreatedAt    time.Time `gorm:"column:created_at"`
}

// TableName implements gorm's Tabler.
func (AuditEntry) TableName() string { return "audit_log" }
