package models

import "time"

// APIKey is one row of api_keys: a credential of an automated client
// (DESIGN §7). SecretHash is the hex SHA-256 of the secret, never the
// secret; TenantID NULL is a platform key (admin role only).
type APIKey struct {
	ID        string  `gorm:"column:id;primaryKey"`
	TenantID  *string `gorm:"column:tenant_id"`
	Name      string  `gorm:"column:name"`
	Role      string  `gorm:"column:role"`
	ProjectID *string `gorm:"column:project_id"`
	Prefix    string  `gorm:"column:prefix"`
	LastFour  string  `gorm:"column:last_four"`
	// SecretHash is the current secret's hash; PreviousSecretHash the one a
	// rotation replaced, valid until PreviousExpiresAt.
	SecretHash         string     `gorm:"column:secret_hash"`
	PreviousSecretHash *string    `gorm:"column:previous_secret_hash"`
	PreviousExpiresAt  *time.Time `gorm:"column:previous_expires_at"`
	// RateLimit is the key's own limit like "600-M"; NULL uses its role's.
	RateLimit *string `gorm:"column:rate_limit"`
	// TokensPerMinute caps the LLM tokens the key's gateway calls use per
	// minute; NULL leaves them unlimited.
	TokensPerMinute *int64     `gorm:"column:tokens_per_minute"`
	ExpiresAt       *time.Time `gorm:"column:expires_at"`
	CreatedBy       string     `gorm:"column:created_by"`
	CreatedAt       time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	RotatedAt       *time.Time `gorm:"column:rotated_at"`
	RevokedAt       *time.Time `gorm:"column:revoked_at"`
	LastUsedAt      *time.Time `gorm:"column:last_used_at"`
}

// TableName implements gorm's Tabler.
func (APIKey) TableName() string { return "api_keys" }
