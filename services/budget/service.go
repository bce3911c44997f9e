// Package budget is the token budget ledger of DESIGN §5. Agents reserve an
// estimate of tokens before a model call and settle it afterwards; the
// counters of a tenant/project (total, used, reserved) live in the database and
// move only through single conditional statements, so concurrent callers on
// any number of replicas can never reserve beyond the limit nor settle a
// reservation twice. Every movement is also a ledger row (Reconcile recomputes
// the counters from it) and an audit entry, written in the same transaction.
// Calls that arrive while a transaction of their kind runs are served
// together by the next one, whatever budget they touch (combine.go), so many
// agents on one budget or on many pay one commit per batch, not per call.
package budget

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/cursor"
)

// Status is the life-cycle state of a reservation. pending is the only state
// a reservation leaves; the other three are final.
type Status string

// The states of a reservation.
const (
	StatusPending   Status = "pending"
	StatusCommitted Status = "committed"
	StatusReleased  Status = "released"
	StatusExpired   Status = "expired"
)

// Kinds of ledger rows.
const (
	kindReserve  = "reserve"
	kindCommit   = "commit"
	kindRelease  = "release"
	kindExpire   = "expire"
	kindLimitSet = "limit_set"
)

// Audit actions written by the service.
const (
	ActionRequest  = "budget.request"
	ActionCommit   = "budget.commit"
	ActionRelease  = "budget.release"
	ActionLimitSet = "budget.limit_set"
)

// sweeperActor is the ledger actor of expiries.
const sweeperActor = "system:sweeper"

// Options configure a Service; zero values take the documented defaults.
type Options struct {
	// DefaultLimit is the total of a budget seen for the first time
	// (BUDGET_DEFAULT_LIMIT). Zero is a legal limit, so it has no default.
	DefaultLimit int64
	// ReservationTTL is how long a reservation stays pending before the
	// sweeper returns it (BUDGET_RESERVATION_TTL, default one hour).
	ReservationTTL time.Duration
	// CommitMaxRatio bounds a commit: actual tokens may be at most the
	// reservation's tokens times this (BUDGET_COMMIT_MAX_RATIO, default 2,
	// at least 1). An estimate is the caller's worst case, so a commit far
	// above it is a bug or an abuse, and one such commit could otherwise
	// overdraw a budget without limit.
	CommitMaxRatio float64
	// Tenants creates the tenant of a budget on the budget's first use.
	// Required.
	Tenants TenantEnsurer
	// Now is the clock; tests inject one. Default: time.Now in UTC.
	Now func() time.Time
	// Registerer receives the service's metrics. Required.
	Registerer prometheus.Registerer
}

// Auditor writes the audit entries of a batch of actions inside the
// actions' transaction (audit.Service implements it).
type Auditor interface {
	RecordAll(ctx context.Context, tx *gorm.DB, items []audit.Item) error
}

var _ Auditor = (*audit.Service)(nil)

// TenantEnsurer creates a tenant inside the transaction that first uses it
// (tenants.Service implements it), so every budget's tenant exists.
type TenantEnsurer interface {
	Ensure(ctx context.Context, tx *gorm.DB, actor audit.Actor, id string) error
}

// DefaultCommitMaxRatio is the CommitMaxRatio of Options that leave it zero.
const DefaultCommitMaxRatio = 2

// Service reserves, settles and reports token budgets.
type Service struct {
	db           *gorm.DB
	audit        Auditor
	metrics      *metrics
	now          func() time.Time
	defaultLimit int64
	ttl          time.Duration
	commitRatio  float64
	tenants      TenantEnsurer

	// pg selects the PostgreSQL statements (row locks, UPDATE … FROM
	// (VALUES …)); valuesRow is one row of a settle batch's VALUES list.
	pg        bool
	valuesRow string

	reservations *combiner[reserveCall, Approval]
	settlements  *combiner[settleCall, Settlement]
}

// New returns a Service on db that writes audit entries through auditor.
func New(db *gorm.DB, auditor Auditor, o Options) (*Service, error) {
	if db == nil || auditor == nil || o.Registerer == nil || o.Tenants == nil {
		return nil, errors.New("budget: database, audit service, tenants and metrics registerer are required")
	}
	if o.CommitMaxRatio == 0 {
		o.CommitMaxRatio = DefaultCommitMaxRatio
	}
	if o.CommitMaxRatio < 1 || o.CommitMaxRatio > MaxCommitRatio {
		return nil, errors.New("budget: commit ratio out of range [1, 1000]")
	}
	if o.DefaultLimit < 0 || o.DefaultLimit > MaxLimit {
		return nil, errors.New("budget: default limit out of range")
	}
	if o.ReservationTTL <= 0 {
		o.ReservationTTL = time.Hour
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Service{
		db:           db,
		audit:        auditor,
		metrics:      m,
		now:          cursor.DBClock(o.Now),
		defaultLimit: o.DefaultLimit,
		ttl:          o.ReservationTTL,
		commitRatio:  o.CommitMaxRatio,
		tenants:      o.Tenants,
	}
	s.pg = db.Name() == "postgres"
	s.valuesRow = "(?, ?, ?, ?, ?)"
	if s.pg {
		s.valuesRow = "(?::uuid, ?::text, ?::text, ?::text, ?::bigint)"
	}
	s.reservations = newCombiner(s.reserveBatch)
	s.settlements = newCombiner(s.settleBatch)
	return s, nil
}
