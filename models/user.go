package models

import "time"

// User is one row of users: an account that can log in. Username is stored
// trimmed and lowercased; PasswordHash is a bcrypt hash, never the password.
type User struct {
	ID           string `gorm:"column:id;primaryKey"`
	Username     string `gorm:"column:username"`
	PasswordHash string `gorm:"column:password_hash"`
	Role         string `gorm:"column:role"`
	// TenantID is NULL for a platform principal (admin role only).
	TenantID          *string   `gorm:"column:tenant_id"`
	Disabled          bool      `gorm:"column:disabled"`
	CreatedAt         time.Time `gorm:"column:created_at"`
	UpdatedAt         time.Time `gorm:"column:updated_at"`
	PasswordChangedAt time.Time `gorm:"column:password_changed_at"`
	// TokensRevokedAt ends every token issued before it (NULL: never): set
	// when the account is disabled or its role or tenant changes.
	TokensRevokedAt *time.Time `gorm:"column:tokens_revoked_at"`
}

// TableName implements gorm's Tabler.
func (User) TableName() string { return "users" }
