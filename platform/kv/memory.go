package kv

import (
	"context"
	"sync"
	"time"
)

// Memory is the embedded-mode Store: a map guarded by a mutex. Values live as
// long as the process, so it suits one instance only.
type Memory struct {
	mu    sync.Mutex
	now   func() time.Time
	items map[string]memItem
}

type memItem struct {
	n       int64
	expires time.Time
}

// NewMemory returns an empty store. now is the clock (time.Now when nil);
// tests inject one to move through expiry windows.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, items: map[string]memItem{}}
}

// live returns the unexpired item of key; the caller holds mu.
func (m *Memory) live(key string, now time.Time) (memItem, bool) {
	it, ok := m.items[key]
	if ok && !now.Before(it.expires) {
		delete(m.items, key)
		return memItem{}, false
	}
	return it, ok
}

// Incr implements Store.
func (m *Memory) Incr(_ context.Context, key string, ttl time.Duration) (int64, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	it, ok := m.live(key, now)
	if !ok {
		it = memItem{expires: now.Add(ttl)}
	}
	it.n++
	m.items[key] = it
	return it.n, it.expires.Sub(now), nil
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, key string) (int64, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	it, ok := m.live(key, now)
	if !ok {
		return 0, 0, nil
	}
	return it.n, it.expires.Sub(now), nil
}

// Set implements Store.
func (m *Memory) Set(_ context.Context, key string, n int64, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[key] = memItem{n: n, expires: m.now().Add(ttl)}
	return nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, key)
	return nil
}

// Sweep drops expired keys so the map does not grow with every locked-out
// address and revoked token. The app runs it periodically.
func (m *Memory) Sweep() {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for k, it := range m.items {
		if !now.Before(it.expires) {
			delete(m.items, k)
		}
	}
}

// Len returns the number of stored keys, expired ones included until swept.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

var _ Store = (*Memory)(nil)
