// Package inbox is the queue through which user goroutines hand work to an
// event loop: connections whose streams posted requests, and functions to
// run on the loop. Both backends (loop/ and fallback/) use it; waking the
// loop (wake.Signal) stays theirs.
//
// It owns no socket and runs nothing itself: the loop drains it.
package inbox

import (
	"sync"
	"sync/atomic"
)

// Inbox is one loop's queue. The zero value is empty and ready. Kick and
// Post may be called from any goroutine; Drain only from the loop's.
type Inbox[C any] struct {
	mu     sync.Mutex
	kicked []C
	funcs  []func()
	n      atomic.Int32 // len(kicked)+len(funcs), read without mu

	// the loop's only: the batch being run, kept to reuse its arrays
	work      []C
	workFuncs []func()
}

// Kick queues c for the loop's service.
func (q *Inbox[C]) Kick(c C) {
	q.mu.Lock()
	q.kicked = append(q.kicked, c)
	q.n.Add(1)
	q.mu.Unlock()
}

// Post queues f to run on the loop.
func (q *Inbox[C]) Post(f func()) {
	q.mu.Lock()
	q.funcs = append(q.funcs, f)
	q.n.Add(1)
	q.mu.Unlock()
}

// Pending reports whether anything is queued, without locking.
func (q *Inbox[C]) Pending() bool { return q.n.Load() > 0 }

// Drain runs the posted functions, then service on each kicked item, in
// the order they came; what is queued meanwhile waits for the next Drain.
func (q *Inbox[C]) Drain(service func(C)) {
	if q.n.Load() == 0 {
		return
	}
	q.mu.Lock()
	q.work, q.kicked = q.kicked, q.work[:0]
	q.workFuncs, q.funcs = q.funcs, q.workFuncs[:0]
	q.n.Store(0)
	q.mu.Unlock()
	for _, f := range q.workFuncs {
		f()
	}
	clear(q.workFuncs)
	for _, c := range q.work {
		service(c)
	}
	clear(q.work)
}
