// Package work keeps the work resources of DESIGN §7: tasks with their state
// machine and history, the agents they are assigned to, and the escalations
// that park a task until a human resolves them. One package, because the
// rules cross the three: an escalation moves its task in the same
// transaction, a task takes only an active agent of its tenant, and an agent
// with work in progress is not retired by accident.
//
// Every resource carries a tenant; the handlers decide which tenant a request
// may see (services/tenants) and pass it down: a tenant id, or "" for a
// platform principal that may see every tenant. Every change is audited and
// (for tasks) written to task_events in its own transaction, and every change
// of a task locks its row and checks its version, so concurrent changes on
// any number of replicas serialize and none is lost.
package work

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
)

// Bounds of the work resources. They are part of the API contract (the
// handlers' binding tags and swag annotations repeat them).
const (
	MaxTitleLength      = 200
	MaxTextLength       = 10_000
	MaxMetadataBytes    = 16 * 1024
	MaxAgentIDLength    = 64
	MaxResolutionLength = 10_000
)

// Auditor writes audit entries inside the action's transaction
// (audit.Service implements it).
type Auditor interface {
	RecordAll(ctx context.Context, tx *gorm.DB, items []audit.Item) error
}

var _ Auditor = (*audit.Service)(nil)

// TenantEnsurer creates a tenant inside the transaction that first uses it
// (tenants.Service implements it), as budgets do: a platform principal may
// name a new tenant on its first task or agent.
type TenantEnsurer interface {
	Ensure(ctx context.Context, tx *gorm.DB, actor audit.Actor, id string) error
}

// Options configure a Service.
type Options struct {
	// Tenants creates the tenant of a task or agent on first use. Required.
	Tenants TenantEnsurer
	// Registerer receives tasks_total and escalations_open. Required.
	Registerer prometheus.Registerer
	// Now is the clock; tests inject one. Default: time.Now.
	Now func() time.Time
}

// Service stores tasks, agents and escalations.
type Service struct {
	db      *gorm.DB
	audit   Auditor
	tenants TenantEnsurer
	metrics *metrics
	now     func() time.Time
}

// New returns the work service on db, auditing through auditor.
func New(db *gorm.DB, auditor Auditor, o Options) (*Service, error) {
	if db == nil || auditor == nil || o.Tenants == nil || o.Registerer == nil {
		return nil, errors.New("work: database, audit service, tenants and metrics registerer are required")
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	return &Service{
		db: db, audit: auditor, tenants: o.Tenants, metrics: m,
		now: cursor.DBClock(o.Now),
	}, nil
}

// slugPattern is the id rule of agents, the same as the tenants' rule.
var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// SlugRule is the agent id rule in words.
const SlugRule = "a slug: 1 to 64 lowercase letters, digits, '-' and '_', starting with a letter or digit"

// fieldErrors collects the failed rules of one request: errs.Fields and the
// rules of work resources.
type fieldErrors struct{ errs.Fields }

// metadata checks a metadata object: at most MaxMetadataBytes as JSON.
func (f *fieldErrors) metadata(field string, m map[string]any) {
	b, err := json.Marshal(m)
	switch {
	case err != nil:
		f.Add(field, "must be a JSON object")
	case len(b) > MaxMetadataBytes:
		f.Add(field, fmt.Sprintf("must be at most %d bytes as JSON (is %d)", MaxMetadataBytes, len(b)))
	}
}

// inTenant limits q to tenant unless it is "" (a platform principal).
func inTenant(q *gorm.DB, tenant string) *gorm.DB {
	if tenant == "" {
		return q
	}
	return q.Where("tenant_id = ?", tenant)
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// jsonEqual compares two JSON values as JSON (a stored 1 reads back as
// float64 1, a sent one may be an int).
func jsonEqual(a, b any) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(x) == string(y)
}
