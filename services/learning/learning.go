// Package learning keeps what agents learn (issue 23, DESIGN §7): the
// versioned prompts of each agent role, the governance rule per role that
// decides whether a learned prompt applies at once, waits for a human or is
// refused, and the decisions on proposals.
//
// Prompts and governance are per tenant, like every resource of DESIGN §7: a
// tenant's developers learn their own prompts under their own limits. A
// role's governance starts as DefaultGovernance (the original platform's
// seed) and is written as a row on its first proposal or change.
//
// A proposal locks its role's governance row and decides in the same
// transaction that stores it, so the daily cap and the cooldown hold for
// concurrent proposals on any number of replicas (PostgreSQL row lock;
// SQLite takes its write lock when the transaction begins).
package learning

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
	"github.com/golden-architecture/control-plane/services/llmcheck"
)

// Bounds of the learning resources; the handlers' tags repeat them.
const (
	MaxPromptLength   = 20_000
	MaxPatternLength  = 2_000
	MaxReasonLength   = 2_000
	MaxUpdatesPerDay  = 1_000
	MaxCooldownHours  = 24 * 30
	MaxLLMAnswerBytes = llmcheck.MaxInputBytes
)

// Auditor writes audit entries inside the action's transaction.
type Auditor interface {
	RecordAll(ctx context.Context, tx *gorm.DB, items []audit.Item) error
}

var _ Auditor = (*audit.Service)(nil)

// TenantEnsurer creates a tenant inside the transaction that first uses it.
type TenantEnsurer interface {
	Ensure(ctx context.Context, tx *gorm.DB, actor audit.Actor, id string) error
}

// AnswerChecker validates raw LLM answers (llmcheck.Checker).
type AnswerChecker interface {
	Check(kind llmcheck.Kind, raw string) (llmcheck.Result, error)
}

var _ AnswerChecker = (*llmcheck.Checker)(nil)

// Options configure a Service.
type Options struct {
	Tenants    TenantEnsurer
	Checker    AnswerChecker
	Registerer prometheus.Registerer
	// Now is the clock; tests inject one. Default: time.Now.
	Now func() time.Time
}

// Service stores prompts, governance and proposals.
type Service struct {
	db      *gorm.DB
	audit   Auditor
	tenants TenantEnsurer
	checker AnswerChecker
	metrics *metrics
	now     func() time.Time
}

// New returns the learning service on db.
func New(db *gorm.DB, auditor Auditor, o Options) (*Service, error) {
	if db == nil || auditor == nil || o.Tenants == nil || o.Checker == nil || o.Registerer == nil {
		return nil, errors.New("learning: database, audit, tenants, checker and metrics registerer are required")
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	return &Service{
		db: db, audit: auditor, tenants: o.Tenants, checker: o.Checker, metrics: m,
		now: cursor.DBClock(o.Now),
	}, nil
}

// fieldErrors collects the failed rules of one request: errs.Fields and the
// rules of learning resources.
type fieldErrors struct{ errs.Fields }

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
