package breaker

import (
	"context"
	"log/slog"

	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/errs"
)

// The audit trail's names of the reset actions.
const (
	ActionResetAll = "breakers.reset_all"
	ActionReset    = "breakers.reset"
)

// Auditor writes an audit entry without a transaction of its own
// (audit.Service implements it).
type Auditor interface {
	Write(ctx context.Context, actor audit.Actor, e audit.Entry) error
}

var _ Auditor = (*audit.Service)(nil)

// Service lists and resets the breakers for the API: a reset applies here at
// once, is broadcast to the other replicas, counted and audited.
type Service struct {
	reg      *Registry
	bc       Broadcaster // nil: a single instance (embedded mode)
	audit    Auditor
	instance string
	log      *slog.Logger
}

// New returns the service; bc is nil when there are no other replicas to
// tell (embedded mode).
func New(reg *Registry, bc Broadcaster, aud Auditor, instance string, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{reg: reg, bc: bc, audit: aud, instance: instance, log: log}
}

// Result is the outcome of a reset on this replica.
type Result struct {
	// Names are the breakers reset here, sorted.
	Names []string
	// Broadcast is true when the reset was sent to the other replicas.
	Broadcast bool
}

// List snapshots every breaker of this replica, sorted by name.
func (s *Service) List() []Status { return s.reg.Statuses() }

// Instance names this replica (INSTANCE_ID).
func (s *Service) Instance() string { return s.instance }

// ResetAll closes every breaker here and asks every other replica to do the
// same.
func (s *Service) ResetAll(ctx context.Context, actor audit.Actor) (Result, error) {
	names := s.reg.ResetAll()
	return s.finish(ctx, actor, ActionResetAll, ResetMessage{All: true}, names)
}

// Reset closes the breaker name here and on every other replica; an unknown
// name is a 404.
func (s *Service) Reset(ctx context.Context, actor audit.Actor, name string) (Result, error) {
	if !s.reg.Reset(name) {
		return Result{}, errs.New(errs.CodeNotFound, "no circuit breaker has this name")
	}
	names := []string{name}
	return s.finish(ctx, actor, ActionReset, ResetMessage{Names: names}, names)
}

// finish counts, broadcasts and audits a reset that already happened here.
// The reset comes first so that resetting the database breaker lets its own
// audit entry through. A failed broadcast or audit is a 503 whose details say
// what was reset; retrying is harmless.
func (s *Service) finish(ctx context.Context, actor audit.Actor, action string, m ResetMessage, names []string) (Result, error) {
	s.reg.events.resets.Add(float64(len(names)))
	res := Result{Names: names}
	var bcErr error
	if s.bc != nil {
		bcErr = s.bc.Broadcast(ctx, m)
		res.Broadcast = bcErr == nil
	}
	details := map[string]any{
		"count": len(names), "names": names, "instance": s.instance,
		"broadcast": broadcastState(s.bc != nil, bcErr),
	}
	auditErr := s.audit.Write(ctx, actor, audit.Entry{Action: action, ResourceType: "circuit_breaker", Details: details})
	switch {
	case bcErr != nil:
		if auditErr != nil {
			s.log.ErrorContext(ctx, "could not audit a breaker reset", slog.String("action", action), slog.Any("error", auditErr))
		}
		return res, errs.Wrap(errs.CodeUnavailable,
			"the breakers were reset on this replica, but the reset could not be sent to the other replicas; retry shortly", bcErr).
			WithDetails(map[string]any{"reset_count": len(names), "breakers": names, "broadcast": false})
	case auditErr != nil:
		return res, errs.Wrap(errs.CodeUnavailable,
			"the breakers were reset, but the audit entry could not be written; retry shortly", auditErr).
			WithDetails(map[string]any{"reset_count": len(names), "breakers": names, "broadcast": res.Broadcast})
	}
	return res, nil
}

func broadcastState(replicas bool, err error) string {
	switch {
	case !replicas:
		return "single_instance"
	case err != nil:
		return "failed"
	default:
		return "sent"
	}
}
