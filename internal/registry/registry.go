// Package registry keeps the running groups of event loops of one
// backend, one group per configuration key: a group starts with its first
// user and is stopped, once, by its last. Both backends (loop/ and
// fallback/) use it, so that reference counting and the stop-once rule
// live in one place.
//
// It owns no loop and never touches a socket: it starts a group through
// the function it is given, stops it through the group's Stop, and waits
// on the channels its Done returns.
package registry

import (
	"sync"
	"sync/atomic"
)

// Group is what the registry needs of a group of loops.
type Group[K comparable] interface {
	comparable
	// Refs returns the registry's state, kept in the group.
	Refs() *Refs[K]
	// Stop tells the group's loops to exit. It is called once, after the
	// last reference was dropped, without the registry's lock held.
	Stop()
	// Done returns one channel per loop, closed when that loop has exited
	// and released what it held.
	Done() []<-chan struct{}
}

// Refs is a group's reference count and registry state. The zero value
// is ready; a group embeds one and returns it from Refs.
type Refs[K comparable] struct {
	n       atomic.Int64
	key     K
	stopped bool // guarded by the registry's lock
}

// Add takes one more reference on a group its caller already holds one
// on (a connection or listener of the group).
func (r *Refs[K]) Add() { r.n.Add(1) }

// Registry maps keys to running groups. The zero value is empty and ready.
type Registry[K comparable, G Group[K]] struct {
	mu       sync.Mutex
	groups   map[K]G
	stopping []<-chan struct{} // loops told to stop, which may still be exiting
}

// Acquire returns the running group for key with one reference for the
// caller, calling start to make and start one if there is none.
func (r *Registry[K, G]) Acquire(key K, start func() (G, error)) (G, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if g, ok := r.groups[key]; ok {
		g.Refs().n.Add(1)
		return g, nil
	}
	g, err := start()
	if err != nil {
		var none G
		return none, err
	}
	refs := g.Refs()
	refs.key = key
	refs.n.Store(1)
	if r.groups == nil {
		r.groups = make(map[K]G)
	}
	r.groups[key] = g
	return g, nil
}

// Release drops one reference on g; the last one stops it. A group that
// was re-acquired through the map meanwhile, or already stopped by a
// racing Release, is left alone.
func (r *Registry[K, G]) Release(g G) {
	refs := g.Refs()
	if refs.n.Add(-1) != 0 {
		return
	}
	r.mu.Lock()
	if refs.n.Load() != 0 || refs.stopped {
		r.mu.Unlock()
		return
	}
	refs.stopped = true
	if cur, ok := r.groups[refs.key]; ok && cur == g {
		delete(r.groups, refs.key)
	}
	r.stopping = append(r.stopping, g.Done()...)
	r.mu.Unlock()
	g.Stop()
}

// WaitStopped blocks until every loop of every group stopped so far has
// exited. Tests use it before counting goroutines and descriptors.
func (r *Registry[K, G]) WaitStopped() {
	r.mu.Lock()
	done := r.stopping
	r.stopping = nil
	r.mu.Unlock()
	for _, d := range done {
		<-d
	}
}

// Running returns the groups running now.
func (r *Registry[K, G]) Running() []G {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]G, 0, len(r.groups))
	for _, g := range r.groups {
		out = append(out, g)
	}
	return out
}
