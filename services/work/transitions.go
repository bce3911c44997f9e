package work

import (
	"fmt"
	"slices"
	"strings"

	"github.com/golden-architecture/control-plane/services/errs"
)

// State is where a task is in its life.
type State string

// The states of a task. completed, failed and cancelled are final.
const (
	StatePending   State = "pending"
	StateRunning   State = "running"
	StateReview    State = "review"
	StateCompleted State = "completed"
	StateEscalated State = "escalated"
	StateFailed    State = "failed"
	StateCancelled State = "cancelled"
)

// States are every state, in the order of a task's life.
var States = []State{StatePending, StateRunning, StateReview, StateCompleted, StateEscalated, StateFailed, StateCancelled}

// transitions are the moves a client may make with PATCH /tasks/{id}. The
// other two moves belong to escalations: running or review → escalated when
// one opens, escalated → running when the last open one is resolved.
var transitions = map[State][]State{
	StatePending:   {StateRunning, StateFailed, StateCancelled},
	StateRunning:   {StateReview, StateFailed, StateCancelled},
	StateReview:    {StateCompleted, StateFailed, StateCancelled},
	StateEscalated: {StateFailed, StateCancelled},
}

// escalatable are the states in which an escalation may be opened.
var escalatable = []State{StateRunning, StateReview, StateEscalated}

// inProgress are the states of a task that an agent is working on: its
// agent is not retired under it unless forced.
var inProgress = []State{StateRunning, StateReview, StateEscalated}

// Valid reports whether s is a state.
func (s State) Valid() bool { return slices.Contains(States, s) }

// Final reports whether a task in s never moves again.
func (s State) Final() bool { return s == StateCompleted || s == StateFailed || s == StateCancelled }

// Next is where a client may move a task that is in s (empty for a final
// state).
func (s State) Next() []State { return slices.Clone(transitions[s]) }

// CanMove reports whether a client may move a task from s to to.
func (s State) CanMove(to State) bool { return slices.Contains(transitions[s], to) }

// transitionConflict is the 409 of a move the state machine refuses, naming
// the states the task may move to.
func transitionConflict(from, to State) error {
	next := from.Next()
	names := make([]string, len(next))
	for i, n := range next {
		names[i] = string(n)
	}
	var msg string
	switch {
	case from.Final():
		msg = fmt.Sprintf("task is %s, which is final: it cannot move to %s", from, to)
	case to == StateEscalated:
		msg = fmt.Sprintf("task is %s: it moves to escalated only by opening an escalation (POST /api/v1/escalations); from %s it may move to %s", from, from, strings.Join(names, ", "))
	case from == StateEscalated && to == StateRunning:
		msg = fmt.Sprintf("task is escalated: it returns to running when its open escalations are resolved; from %s it may move to %s", from, strings.Join(names, ", "))
	default:
		msg = fmt.Sprintf("task is %s: it cannot move to %s; it may move to %s", from, to, strings.Join(names, ", "))
	}
	return errs.New(errs.CodeConflict, msg).WithDetails(map[string]any{
		"state": string(from), "requested_state": string(to), "allowed_states": names,
	})
}
