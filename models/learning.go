package models

import "time"

// LearningGovernance is one row of learning_governance: how often a role's
// prompt may change by learning in a tenant.
type LearningGovernance struct {
	TenantID             string     `gorm:"column:tenant_id;primaryKey"`
	AgentRole            string     `gorm:"column:agent_role;primaryKey"`
	MaxUpdatesPerDay     int        `gorm:"column:max_updates_per_day"`
	CooldownHours        int        `gorm:"column:cooldown_hours"`
	RequireHumanApproval bool       `gorm:"column:require_human_approval"`
	LastUpdateAt         *time.Time `gorm:"column:last_update_at"`
	UpdatedBy            string     `gorm:"column:updated_by"`
	UpdatedAt            time.Time  `gorm:"column:updated_at;autoUpdateTime:false"`
}

// TableName implements gorm's Tabler.
func (LearningGovernance) TableName() string { return "learning_governance" }

// AgentPrompt is one row of agent_prompts: one version of a role's prompt.
type AgentPrompt struct {
	ID                 string     `gorm:"column:id;primaryKey"`
	TenantID           string     `gorm:"column:tenant_id"`
	AgentRole          string     `gorm:"column:agent_role"`
	Version            int        `gorm:"column:version"`
	PromptText         string     `gorm:"column:prompt_text"`
	AutoLearned        bool       `gorm:"column:auto_learned"`
	LearnedFromPattern string     `gorm:"column:learned_from_pattern"`
	LLMCheck           *JSONMap   `gorm:"column:llm_check"`
	ApprovalStatus     string     `gorm:"column:approval_status"`
	CreatedBy          string     `gorm:"column:created_by"`
	CreatedAt          time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	ApprovedBy         *string    `gorm:"column:approved_by"`
	ApprovedAt         *time.Time `gorm:"column:approved_at"`
	RejectionReason    *string    `gorm:"column:rejection_reason"`
}

// TableName implements gorm's Tabler.
func (AgentPrompt) TableName() string { return "agent_prompts" }
