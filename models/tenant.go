package models

import "time"

// Tenant is one row of tenants: a team or customer whose users, budgets and
// (later) keys, tasks and agents belong together (DESIGN §7).
type Tenant struct {
	ID        string    `gorm:"column:id;primaryKey"`
	Name      string    `gorm:"column:name"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

// TableName implements gorm's Tabler.
func (Tenant) TableName() string { return "tenants" }
