package breaker

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Registry.
type Options struct {
	Settings
	// Log receives state changes (an opening is a warning) and resets.
	Log *slog.Logger
	// Registerer receives circuit_breaker_state,
	// circuit_breaker_transitions_total and breaker_resets_total.
	Registerer prometheus.Registerer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Registry holds the named breakers of one process.
type Registry struct {
	settings Settings
	events   *events

	mu     sync.RWMutex
	byName map[string]*Breaker
}

// NewRegistry returns an empty registry and registers its metrics.
func NewRegistry(o Options) (*Registry, error) {
	if err := o.Settings.validate(); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	r := &Registry{settings: o.Settings, byName: map[string]*Breaker{}}
	ev, err := newEvents(o.Registerer, r, o.Log, o.Now)
	if err != nil {
		return nil, fmt.Errorf("breaker metrics: %w", err)
	}
	r.events = ev
	return r, nil
}

// Add creates the breaker name; isFailure says which errors count against it.
func (r *Registry) Add(name string, isFailure Classifier) (*Breaker, error) {
	if name == "" || isFailure == nil {
		return nil, fmt.Errorf("breaker: a breaker needs a name and a classifier")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byName[name]; ok {
		return nil, fmt.Errorf("breaker: %q is already registered", name)
	}
	b := newBreaker(name, isFailure, r.settings, r.events)
	r.byName[name] = b
	return b, nil
}

// Get returns the breaker name.
func (r *Registry) Get(name string) (*Breaker, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	b, ok := r.byName[name]
	return b, ok
}

// all returns the breakers sorted by name.
func (r *Registry) all() []*Breaker {
	r.mu.RLock()
	out := make([]*Breaker, 0, len(r.byName))
	for _, b := range r.byName {
		out = append(out, b)
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Breaker) int { return strings.Compare(a.name, b.name) })
	return out
}

// Statuses snapshots every breaker, sorted by name.
func (r *Registry) Statuses() []Status {
	bs := r.all()
	out := make([]Status, len(bs))
	for i, b := range bs {
		out[i] = b.Status()
	}
	return out
}

// States maps every breaker to its state (for /health).
func (r *Registry) States() map[string]State {
	out := map[string]State{}
	for _, b := range r.all() {
		out[b.name] = b.State()
	}
	return out
}

// ResetAll closes every breaker of this process and returns their names,
// sorted. Metrics of operator resets are counted by the Service.
func (r *Registry) ResetAll() []string {
	var names []string
	for _, b := range r.all() {
		b.reset()
		names = append(names, b.name)
	}
	return names
}

// Reset closes the breaker name; false when there is none.
func (r *Registry) Reset(name string) bool {
	b, ok := r.Get(name)
	if ok {
		b.reset()
	}
	return ok
}

// Settings are the thresholds of every breaker.
func (r *Registry) Settings() Settings { return r.settings }
