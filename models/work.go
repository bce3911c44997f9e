package models

import "time"

// Agent is one row of agents: a worker of a tenant that tasks are assigned
// to (DESIGN §7). Its id is unique inside its tenant.
type Agent struct {
	TenantID  string    `gorm:"column:tenant_id;primaryKey"`
	ID        string    `gorm:"column:id;primaryKey"`
	Role      string    `gorm:"column:role"`
	Status    string    `gorm:"column:status"`
	Metadata  JSONMap   `gorm:"column:metadata"`
	CreatedBy string    `gorm:"column:created_by"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

// TableName implements gorm's Tabler.
func (Agent) TableName() string { return "agents" }

// Task is one row of tasks: a unit of work of a tenant with its state and
// the version that every change increments.
type Task struct {
	ID          string  `gorm:"column:id;primaryKey"`
	TenantID    string  `gorm:"column:tenant_id"`
	Title       string  `gorm:"column:title"`
	Description string  `gorm:"column:description"`
	AgentID     *string `gorm:"column:agent_id"`
	State       string  `gorm:"column:state"`
	Metadata    JSONMap `gorm:"column:metadata"`
	Version     int64   `gorm:"column:version"`
	// CreatedBy is the principal that created the task ("user:<id>").
	CreatedBy string     `gorm:"column:created_by"`
	CreatedAt time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt time.Time  `gorm:"column:updated_at;autoUpdateTime:false"`
	DeletedAt *time.Time `gorm:"column:deleted_at"`
}

// TableName implements gorm's Tabler.
func (Task) TableName() string { return "tasks" }

// TaskEvent is one row of task_events: one change of a task, written in the
// change's transaction.
type TaskEvent struct {
	ID        int64   `gorm:"column:id;primaryKey;autoIncrement"`
	TaskID    string  `gorm:"column:task_id"`
	TenantID  string  `gorm:"column:tenant_id"`
	Kind      string  `gorm:"column:kind"`
	FromState *string `gorm:"column:from_state"`
	ToState   *string `gorm:"column:to_state"`
	Changes   JSONMap `gorm:"column:changes"`
	// Version is the task's version after the change.
	Version   int64     `gorm:"column:version"`
	Actor     string    `gorm:"column:actor"`
	RequestID string    `gorm:"column:request_id"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

// TableName implements gorm's Tabler.
func (TaskEvent) TableName() string { return "task_events" }

// Escalation is one row of escalations: a task that needs a human, open
// until ResolvedAt is set (once).
type Escalation struct {
	ID             string     `gorm:"column:id;primaryKey"`
	TenantID       string     `gorm:"column:tenant_id"`
	TaskID         string     `gorm:"column:task_id"`
	Reason         string     `gorm:"column:reason"`
	PatternType    string     `gorm:"column:pattern_type"`
	SuggestedFix   string     `gorm:"column:suggested_fix"`
	CreatedBy      string     `gorm:"column:created_by"`
	CreatedAt      time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	Resolution     *string    `gorm:"column:resolution"`
	ResolutionData *JSONMap   `gorm:"column:resolution_data"`
	ResolvedBy     *string    `gorm:"column:resolved_by"`
	ResolvedAt     *time.Time `gorm:"column:resolved_at"`
}

// TableName implements gorm's Tabler.
func (Escalation) TableName() string { return "escalations" }
