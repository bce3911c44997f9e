// Package review runs the peer reviews of DESIGN §7: a session in which
// agents of a task's tenant, each with a weight, vote on the task (approve,
// reject or conditional), and the weighted share of approvals decides.
//
// The session is decided by the vote that makes its outcome certain, in
// that vote's transaction: completed when the approvals' weight reaches the
// quorum (a share of the invited weight), failed when even every remaining
// vote could not reach it. A failed session opens an agent_conflict
// escalation of the task in the same transaction (services/work's
// escalation rules: the task moves to escalated). Every vote locks its
// session's row and the votes' primary key allows one per agent, so the
// rules hold for concurrent votes on any number of replicas.
package review

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
	"github.com/golden-architecture/control-plane/services/work"
)

// Bounds of a review; the handlers' tags repeat them.
const (
	DefaultQuorum      = 0.75
	MaxAgents          = 50
	MaxWeight          = 1000
	MaxReasoningLength = 2_000
	MaxRawBytes        = llmcheck.MaxInputBytes
)

// Auditor writes audit entries inside the action's transaction.
type Auditor interface {
	RecordAll(ctx context.Context, tx *gorm.DB, items []audit.Item) error
}

var _ Auditor = (*audit.Service)(nil)

// AnswerChecker validates raw LLM answers (llmcheck.Checker).
type AnswerChecker interface {
	Check(kind llmcheck.Kind, raw string) (llmcheck.Result, error)
}

var _ AnswerChecker = (*llmcheck.Checker)(nil)

// Escalator opens an escalation inside the caller's transaction
// (work.Service); done counts it once the transaction has committed.
type Escalator interface {
	OpenEscalationTx(ctx context.Context, tx *gorm.DB, actor audit.Actor, in work.OpenInput) (e work.Escalation, done func(), err error)
}

var _ Escalator = (*work.Service)(nil)

// Options configure a Service.
type Options struct {
	Checker     AnswerChecker
	Escalations Escalator
	Registerer  prometheus.Registerer
	// Now is the clock; tests inject one. Default: time.Now.
	Now func() time.Time
}

// Service stores review sessions and their votes.
type Service struct {
	db          *gorm.DB
	audit       Auditor
	checker     AnswerChecker
	escalations Escalator
	metrics     *metrics
	now         func() time.Time
}

// New returns the review service on db.
func New(db *gorm.DB, auditor Auditor, o Options) (*Service, error) {
	if db == nil || auditor == nil || o.Checker == nil || o.Escalations == nil || o.Registerer == nil {
		return nil, errors.New("review: database, audit, checker, escalations and metrics registerer are required")
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	return &Service{
		db: db, audit: auditor, checker: o.Checker, escalations: o.Escalations, metrics: m,
		now: cursor.DBClock(o.Now),
	}, nil
}

// fieldErrors collects the failed rules of one request.
type fieldErrors struct{ errs.Fields }
